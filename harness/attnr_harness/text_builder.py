"""Builds a document from pieces while recording code-point ranges."""


class TextBuilder:
    def __init__(self):
        self._parts = []
        self._length = 0  # In code points (Python str indexing).

    def add(self, text):
        """Appends `text`; returns its [start, end) range in code points."""
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        return [start, self._length]

    def text(self):
        return "".join(self._parts)

    def __len__(self):
        return self._length
