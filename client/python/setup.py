"""Builds the attnr package, generating the gRPC stubs from proto/.

The .proto files live at the repository's top (proto/attnr/v1/), shared with
the C++ server and CLI; `pip install ./client/python` builds in place, so
they are found two folders up. ATTNR_PROTO_DIR points elsewhere.
"""
import os
import pathlib

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
PROTOS = ["attnr/v1/retriever.proto"]


def proto_dir() -> pathlib.Path:
    for candidate in (os.environ.get("ATTNR_PROTO_DIR"), HERE / "proto",
                      HERE.parent.parent / "proto"):
        if candidate and (pathlib.Path(candidate) / PROTOS[0]).is_file():
            return pathlib.Path(candidate)
    raise RuntimeError(
        "attnr: cannot find proto/attnr/v1/retriever.proto (install from the "
        "repository: pip install ./client/python, or set ATTNR_PROTO_DIR)")


class BuildWithStubs(build_py):
    """Runs grpc_tools.protoc into the build folder before copying."""

    def run(self):
        from grpc_tools import protoc  # A build requirement.
        import grpc_tools

        out = pathlib.Path(self.build_lib)
        out.mkdir(parents=True, exist_ok=True)
        include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
        src = proto_dir()
        for proto in PROTOS:
            code = protoc.main([
                "grpc_tools.protoc", f"-I{src}", f"-I{include}",
                f"--python_out={out}", f"--pyi_out={out}",
                f"--grpc_python_out={out}", str(src / proto)])
            if code != 0:
                raise RuntimeError(f"protoc failed on {proto} ({code})")
        (out / "attnr" / "v1" / "__init__.py").touch()
        super().run()


setup(cmdclass={"build_py": BuildWithStubs})
