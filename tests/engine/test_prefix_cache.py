"""``PrefixCache.common_prefix`` compares a segment at a time; it must agree with a position-by-position scan."""

from __future__ import annotations

import random

from app.engine.media_chunks import IMAGE, TEXT, Chunk
from app.engine.prefix_cache import Key, PrefixCache, PromptPlan, Segment


def picture(media_id: str, n_pos: int) -> Segment:
    keys = tuple((media_id, i) for i in range(n_pos))
    return Segment(IMAGE, chunk=Chunk(IMAGE, n_pos, n_pos, media_id=media_id, keys=keys))


def position_by_position(cached: list[Key], plan: PromptPlan) -> int:
    """The rule spelled out: the longest common run of keys, leaving the last position, never half a picture."""
    new = plan.keys()
    n = 0
    for a, b in zip(cached, new, strict=False):
        if a != b:
            break
        n += 1
    n = min(n, len(new) - 1)
    pos = 0
    for seg in plan.segments:
        if pos >= n:
            break
        if seg.kind != TEXT and pos < n < pos + seg.n_pos:
            return pos
        pos += seg.n_pos
    return max(n, 0)


def random_plan(rng: random.Random) -> PromptPlan:
    segments = []
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.35:
            segments.append(picture(rng.choice("ab"), rng.randint(1, 5)))
        else:
            segments.append(Segment(TEXT, tokens=[rng.randint(0, 3) for _ in range(rng.randint(0, 6))]))
    return PromptPlan("", segments)


def test_segment_comparison_agrees_with_the_position_scan() -> None:
    rng = random.Random(17)
    for _ in range(5000):
        old, new = random_plan(rng), random_plan(rng)
        cache = PrefixCache()
        cache.extend(old.keys())
        if rng.random() < 0.3:  # a cache that also holds a generated answer
            cache.extend([rng.randint(0, 3) for _ in range(rng.randint(1, 4))])
        assert cache.common_prefix(new) == position_by_position(cache.keys, new)


def test_a_follow_up_keeps_the_pictures_and_stops_at_the_first_new_token() -> None:
    history = [Segment(TEXT, tokens=[1, 2]), picture("p", 280), Segment(TEXT, tokens=[3, 4, 5])]
    cache = PrefixCache()
    cache.extend(PromptPlan("", history).keys())
    follow = PromptPlan("", [*history[:2], Segment(TEXT, tokens=[3, 4, 9, 9])])
    assert cache.common_prefix(follow) == 2 + 280 + 2
    edited = PromptPlan("", [Segment(TEXT, tokens=[1, 7]), *history[1:]])
    assert cache.common_prefix(edited) == 1
    cut = PromptPlan("", history[:2])  # the prompt ends with the picture: its last position must be evaluated
    assert cache.common_prefix(cut) == 2
