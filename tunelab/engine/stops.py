"""Stop strings for streamed text: text that could still become a stop string is held back, so a
client never receives part of a stop sequence (vLLM does the same), and the text is cut where the
earliest stop string starts.
"""

from __future__ import annotations


class StopStrings:
    """Feed decoded pieces with `push`; it returns the text that is safe to send and whether a stop
    string was found (then the text ends just before it). `flush` returns what was held back when
    generation ends for another reason."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.text = ""
        self.sent = 0  # text[:sent] went out; no stop string starts before `sent`

    def push(self, piece: str) -> tuple[str, bool]:
        if not self.stops:
            return piece, False
        self.text += piece
        cut = None
        for s in self.stops:
            i = self.text.find(s, self.sent)
            if i != -1 and (cut is None or i < cut):
                cut = i
        if cut is not None:
            out, self.sent = self.text[self.sent:cut], cut
            self.text = self.text[:cut]
            return out, True
        end = len(self.text) - self._held()
        out, self.sent = self.text[self.sent:end], max(self.sent, end)
        return out, False

    def flush(self) -> str:
        out, self.sent = self.text[self.sent:], len(self.text)
        return out

    def _held(self) -> int:
        """Length of the longest tail of the unsent text that is the start of some stop string."""
        tail = self.text[self.sent:]
        best = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(tail)), best, -1):
                if tail.endswith(s[:k]):
                    best = k
                    break
        return best
