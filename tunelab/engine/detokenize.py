"""Token ids to streamed text: `IncrementalDecoder` never splits a character across pieces, and
`StopStrings` holds back text that could still become a stop string, so a client never receives part
of a stop sequence (vLLM does the same), and cuts the text where the earliest stop string starts.
"""

from __future__ import annotations


class IncrementalDecoder:
    """Turns a growing list of token ids into new text pieces without splitting characters.

    Decodes a short window (prefix_offset..end) each step rather than the whole sequence, as
    vLLM's detokenizer does, so the cost per token stays flat.
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix_offset = 0
        self.read_offset = 0

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        decode = lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True)  # noqa: E731
        prefix = decode(self.ids[self.prefix_offset:self.read_offset])
        text = decode(self.ids[self.prefix_offset:])
        if len(text) > len(prefix) and not text.endswith("\ufffd"):
            self.prefix_offset, self.read_offset = self.read_offset, len(self.ids)
            return text[len(prefix):]
        return ""


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
            self.text += piece
            self.sent = len(self.text)
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
