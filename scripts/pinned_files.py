"""What the fetch scripts (fetch-models.py, fetch-libtorch.py) share: a
file's sha256, and what is wrong with a folder's pinned files."""
import hashlib
import os


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def problems(files, folder):
    """Each of `files` ({relative path: sha256}) missing from `folder` or
    not of its pinned sha256, as a line naming it (empty: all verify)."""
    out = []
    for name, digest in sorted(files.items()):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            out.append(f"{path}: missing")
        elif sha256(path) != digest:
            out.append(f"{path}: sha256 {sha256(path)}, pinned {digest}")
    return out
