"""Which moment of its video a frame shows, when the number it was sent with may not say.

The backend writes a video's frames as ``frame-1.png`` ... ``frame-N.png`` and sends them in a
plain string sort of those names (``frame-1, frame-10, frame-100 ... frame-109, frame-11,
frame-110 ...``), each numbered by its *position* in that list. So ``frame_number`` rises by one
while the picture jumps back and forth in time. Other clients send frames in time order. Nothing
in a request says which; the pictures do: a frame looks most like the frames next to it in time.

:class:`FrameOrder` keeps a tiny picture of each frame of one video by the number it was sent
with and weighs two kinds of hypotheses as frames arrive:

- *in order*: frame number = time index (the default);
- *string-sorted*, for N frames in all: position p holds file :func:`lex_file_at` (N, p), i.e.
  time index file - 1. N is not known up front; only its digit count matters until the list
  runs past frame N itself, so the hypotheses are one per digit count (N = 9, 99, 999, ...) and,
  once string-sorted, "N = the largest file seen so far" (the clip ends there).

For every new frame and hypothesis, the evidence is how much the frame's picture differs from the
received frames the hypothesis says are its neighbours in time. A hypothesis whose neighbours are
clearly nearer than the current one's (``vote_ratio`` times and ``min_evidence`` grey levels)
gains a vote; ``votes_to_switch`` votes and it becomes the order. A video whose pictures cannot
tell (a static scene) stays in order. Once ``settle_frames`` frames came in order with no
string-sorted vote, the video is settled and no more evidence is weighed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_DIGITS = 5  # videos of up to 99 999 frames


def lex_file_at(count: int, position: int) -> int:
    """The file number (1-based) at 0-based ``position`` of ``frame-1`` ... ``frame-count``
    sorted as strings (the k-th number in lexicographic order, walking the decimal prefix tree)."""
    if not 0 <= position < count:
        raise ValueError(f"position {position} outside 0..{count - 1}")
    current, left = 1, position
    while left > 0:
        below = _numbers_with_prefix(current, count)
        if below <= left:  # skip this prefix's whole subtree
            current, left = current + 1, left - below
        else:  # descend into it
            current, left = current * 10, left - 1
    return current


def lex_position_of(count: int, file: int) -> int:
    """The 0-based position of ``frame-<file>`` in that string-sorted list (inverse of
    :func:`lex_file_at`): how many of 1..count sort before it."""
    if not 1 <= file <= count:
        raise ValueError(f"file {file} outside 1..{count}")
    text, total = str(file), 0
    for length in range(1, len(str(count)) + 1):
        low = 10 ** (length - 1)
        if length < len(text):
            bound = int(text[:length]) + 1  # its own prefix sorts before it
        elif length == len(text):
            bound = file
        else:
            bound = file * 10 ** (length - len(text))
        total += max(min(bound, count + 1, 10**length) - low, 0)
    return total


def _numbers_with_prefix(prefix: int, count: int) -> int:
    """How many of 1..count start with the digits of ``prefix``."""
    total, low, high = 0, prefix, prefix + 1
    while low <= count:
        total += min(count + 1, high) - low
        low, high = low * 10, high * 10
    return total


def picture_difference(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Mean absolute grey difference of two thumbnails (0..255); 0 when either is missing."""
    if a is None or b is None or a.shape != b.shape:
        return 0.0
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


@dataclass(frozen=True)
class OrderRules:
    """How much the pictures must say before the order changes."""

    vote_ratio: float = 2.0  # neighbours this many times further than the best's ...
    min_evidence: float = 2.0  # ... and this many grey levels further: a contradiction
    votes_to_switch: int = 2  # fewer contradictions than the order in force: it changes
    forget_after: int = 4  # a hypothesis this many contradictions behind the best is dropped
    settle_frames: int = 64  # frames in order with no vote against it: stop weighing
    pictures_kept: int = 4096  # thumbnails kept per video (144 bytes each)
    recent_pictures: int = 32  # what "looks like this video" is measured against
    ends_kept: int = 8  # "the list ends at file F" hypotheses kept per parent (the newest F)
    ends_searched: int = 32  # the order in force contradicted: ends this far below looked at
    usual_step: float = 0.1  # grey levels the usual neighbour difference moves per frame


IN_ORDER = 0  # the hypothesis "frame number = time index" (a count of 0 files)


class FrameOrder:
    """One video's order: ``place`` each frame, get its time index."""

    def __init__(self, rules: OrderRules | None = None) -> None:
        self.rules = rules or OrderRules()
        self.count = IN_ORDER  # the order in force: IN_ORDER, or N of a string-sorted list
        self.settled = False
        self._pictures: OrderedDict[int, np.ndarray] = OrderedDict()  # frame number -> thumb
        self._scores: dict[int, int] = {IN_ORDER: 0}  # hypothesis -> minus its contradictions
        self._largest: dict[int, int] = {}  # per hypothesis: the largest file placed under it
        self._parents: dict[int, int] = {}  # an "ends at" hypothesis -> the one it came from
        self._newest_position = -1
        self._frames = 0
        self._usual: float | None = None  # a frame's usual difference from its neighbours
        self._recent: np.ndarray | None = None  # the last ``recent_pictures``, stacked

    @property
    def string_sorted(self) -> bool:
        return self.count != IN_ORDER

    def time_index(self, frame_number: int, count: int | None = None) -> int:
        """The time index of a frame sent as ``frame_number`` under ``count`` (default: the
        order in force); a position beyond a string-sorted list's end keeps its number."""
        count = self.count if count is None else count
        if count == IN_ORDER or not 0 <= frame_number < count:
            return frame_number
        return lex_file_at(count, frame_number) - 1

    def seen_picture(self, frame_number: int) -> np.ndarray | None:
        """The thumbnail this video's frame ``frame_number`` had, if it came and is kept."""
        return self._pictures.get(frame_number)

    def nearest_difference(self, thumbnail: np.ndarray | None) -> float:
        """How far ``thumbnail`` is from the nearest of this video's recent pictures."""
        if thumbnail is None or self._recent is None:
            return 0.0
        if self._recent.shape[1:] != thumbnail.shape:
            return 0.0
        differences = np.abs(self._recent - thumbnail.astype(np.float32)).mean(axis=(1, 2))
        return float(differences.min())

    def place(self, frame_number: int, thumbnail: np.ndarray | None) -> tuple[int, bool]:
        """The frame's time index, and whether the order in force changed with this frame
        from in order to string-sorted (times placed before then were wrong: the caller starts
        its tracks again)."""
        was_in_order = not self.string_sorted
        if thumbnail is not None and not self.settled and frame_number >= 0:
            self._weigh(frame_number, thumbnail)
        if thumbnail is not None:
            self._keep(frame_number, thumbnail)
        self._frames += 1
        self._newest_position = max(self._newest_position, frame_number)
        return self.time_index(frame_number), was_in_order and self.string_sorted

    def _keep(self, frame_number: int, thumbnail: np.ndarray) -> None:
        """Remember the frame's picture, and keep the recent ones stacked for matching."""
        self._pictures[frame_number] = thumbnail.astype(np.uint8)
        self._pictures.move_to_end(frame_number)
        while len(self._pictures) > self.rules.pictures_kept:
            self._pictures.popitem(last=False)
        picture = thumbnail.astype(np.float32)[None]
        if self._recent is None or self._recent.shape[1:] != picture.shape[1:]:
            self._recent = picture
        else:
            self._recent = np.concatenate([self._recent, picture])[-self.rules.recent_pictures :]

    def forget(self, frame_number: int) -> None:
        """Forget the picture of a frame that was not answered (it may be sent again)."""
        self._pictures.pop(frame_number, None)

    def newest_number(self) -> int:
        """The highest frame number whose picture is kept (-1: none)."""
        return max(self._pictures, default=-1)

    # --- the evidence ----------------------------------------------------------------------
    def _weigh(self, frame_number: int, thumbnail: np.ndarray) -> None:
        """Count a contradiction against each hypothesis whose neighbours in time look clearly
        less like this frame than the best hypothesis's do; the least contradicted one is put
        in force once it leads the one in force by ``votes_to_switch``."""
        rules = self.rules
        self._spawn(frame_number)
        evidence = {
            count: self._neighbour_difference(frame_number, thumbnail, count)
            for count in self._scores
        }
        if self.string_sorted and (
            self._contradicted(evidence, self.count) or self._misplaced(evidence)
        ):
            # The list may have ended at a file the spawned ends no longer cover (frames
            # arrive a little out of order): look again at every end just below its largest.
            for ends in self._ends_below(self.count, frame_number):
                self._spawn_end(ends, self.count, keep_siblings=True)
                evidence[ends] = self._neighbour_difference(frame_number, thumbnail, ends)
        for count in list(evidence):
            if self._contradicted(evidence, count):
                self._scores[count] -= 1
        self._learn_usual(evidence)
        leader = max(self._scores, key=lambda c: (self._scores[c], c == self.count, self._rank(c)))
        # Leaving "in order" takes votes_to_switch; between two string-sorted lists, one.
        margin = rules.votes_to_switch if not self.string_sorted else 1
        in_force = self._scores.get(self.count)
        if in_force is None or self._scores[leader] >= in_force + margin:
            self.count = leader
        floor = self._scores[leader] - rules.forget_after
        for count in [c for c, v in self._scores.items() if v < floor and c != IN_ORDER]:
            self._drop(count)
        if (
            not self.string_sorted
            and self._frames + 1 >= rules.settle_frames
            and all(v < self._scores[IN_ORDER] for c, v in self._scores.items() if c != IN_ORDER)
        ):
            self.settled, self._largest, self._parents = True, {}, {}
            self._scores = {IN_ORDER: 0}

    def _spawn(self, frame_number: int) -> None:
        """Keep the hypotheses that can still hold (a list longer than every position seen),
        one per digit count, and for each the one that ends at its largest file so far (the
        frame about to be placed is past that file: the list may have ended there)."""
        newest = max(self._newest_position, frame_number)
        for count in [c for c in self._scores if c != IN_ORDER and c <= newest]:
            self._drop(count)
        for digits in range(1, MAX_DIGITS + 1):
            full = 10**digits - 1
            if full > newest and full not in self._scores and not self._frames:
                self._scores[full], self._largest[full] = 0, 0
        for count in list(self._scores):
            if count == IN_ORDER or count not in self._scores:
                continue
            file = lex_file_at(count, frame_number)
            largest = self._largest[count]
            if file > largest:
                self._largest[count] = file
                for ends in range(max(largest, newest + 1, file - self.rules.ends_kept), file):
                    if ends not in self._scores:
                        self._spawn_end(ends, count)

    def _contradicted(self, evidence: dict[int, float | None], count: int) -> bool:
        """Whether ``count``'s neighbours look clearly less like this frame than the best
        hypothesis's neighbours do."""
        mine = evidence.get(count)
        known = [e for e in evidence.values() if e is not None]
        if mine is None or not known:
            return False
        best = min(known)
        return mine > best * self.rules.vote_ratio and mine - best >= self.rules.min_evidence

    def _misplaced(self, evidence: dict[int, float | None]) -> bool:
        """Whether the order in force puts this frame next to frames that look clearly less
        like it than neighbouring frames of this video usually do (every hypothesis alive
        may be wrong: the list ended at a file no longer guessed)."""
        mine, usual = evidence.get(self.count), self._usual
        if mine is None or usual is None or self._frames < self.rules.settle_frames // 8:
            return False
        return mine > usual * self.rules.vote_ratio and mine - usual >= self.rules.min_evidence

    def _learn_usual(self, evidence: dict[int, float | None]) -> None:
        """Follow how much a frame of this video usually differs from its neighbours (the
        best hypothesis's evidence: a moving median, robust to the jumps)."""
        known = [e for e in evidence.values() if e is not None]
        if not known:
            return
        best = min(known)
        if self._usual is None:
            self._usual = best
        else:
            self._usual += self.rules.usual_step * (1.0 if best > self._usual else -1.0)
            self._usual = max(self._usual, 0.0)

    def _ends_below(self, count: int, frame_number: int) -> range:
        """The ends worth a second look for ``count``: the files just below its largest."""
        newest = max(self._newest_position, frame_number)
        largest = self._largest.get(count, 0)
        return range(max(newest + 1, largest - self.rules.ends_searched), largest + 1)

    def _rank(self, count: int) -> tuple[int, int]:
        """Between hypotheses with as few contradictions: in order first, then the one per
        digit count (the shorter first), then an end guessed from one (the longer first)."""
        if count == IN_ORDER:
            return (2, 0)
        if count not in self._parents:
            return (1, -count)
        return (0, count)

    def _spawn_end(self, count: int, parent: int, keep_siblings: bool = False) -> None:
        """The hypothesis "the list ends at file ``count``", which agrees with ``parent`` on
        every frame so far (so starts with its votes); a parent keeps its newest few."""
        if count in self._scores:
            return
        self._scores[count], self._largest[count] = self._scores.get(parent, 0), count
        self._parents[count] = parent
        if keep_siblings:
            return
        siblings = sorted(c for c, p in self._parents.items() if p == parent)
        for old in siblings[: max(len(siblings) - self.rules.ends_kept, 0)]:
            if old != self.count and self._scores[old] <= self._scores.get(parent, 0):
                self._drop(old)

    def _drop(self, count: int) -> None:
        self._scores.pop(count, None)
        self._largest.pop(count, None)
        self._parents.pop(count, None)

    def _neighbour_difference(
        self, frame_number: int, thumbnail: np.ndarray, count: int
    ) -> float | None:
        """The picture difference to the nearest received frame that ``count``'s order puts
        next to this one in time; None when none of them has come yet."""
        if count == IN_ORDER:
            numbers = [frame_number - 1, frame_number + 1]
        elif frame_number >= count:
            return None
        else:
            file = lex_file_at(count, frame_number)
            numbers = [lex_position_of(count, f) for f in (file - 1, file + 1) if 1 <= f <= count]
        seen = [self._pictures[n] for n in numbers if n in self._pictures]
        if not seen:
            return None
        return min(picture_difference(thumbnail, p) for p in seen)

    # --- saving ----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        numbers = np.fromiter(self._pictures.keys(), dtype=np.int64, count=len(self._pictures))
        pictures = (
            np.stack(list(self._pictures.values()))
            if self._pictures
            else np.zeros((0, 0, 0), np.uint8)
        )
        return {
            "count": self.count,
            "settled": self.settled,
            "scores": [
                [c, v, self._largest.get(c, 0), self._parents.get(c, IN_ORDER)]
                for c, v in self._scores.items()
            ],
            "newest_position": self._newest_position,
            "frames": self._frames,
            "usual": self._usual,
            "numbers": numbers,
            "pictures": pictures,
        }

    @classmethod
    def from_state(cls, saved: dict[str, Any], rules: OrderRules | None = None) -> FrameOrder:
        order = cls(rules)
        order.count = int(saved["count"])
        order.settled = bool(saved["settled"])
        for count, score, largest, parent in saved["scores"]:
            order._scores[int(count)], order._largest[int(count)] = int(score), int(largest)
            if parent != IN_ORDER:
                order._parents[int(count)] = int(parent)
        order._newest_position = int(saved["newest_position"])
        order._frames = int(saved["frames"])
        order._usual = None if saved["usual"] is None else float(saved["usual"])
        for number, picture in zip(saved["numbers"], saved["pictures"], strict=True):
            order._keep(int(number), np.asarray(picture, dtype=np.uint8))
        return order
