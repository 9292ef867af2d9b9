"""The prompt lookup drafter's n-gram index, the adaptive draft length and the pace check (no model needed)."""

from __future__ import annotations

import random

from app.engine.drafting import AdaptiveLength, DraftPace
from app.engine.prompt_lookup import NgramIndex, PromptLookup


def test_proposes_what_followed_the_latest_earlier_occurrence() -> None:
    index = NgramIndex(3)
    index.extend([1, 2, 3, 4, 5, 9, 1, 2, 3, 7, 8, 0, 1, 2, 3])
    # "1 2 3" occurred twice before; the latest one was followed by 7 8 0.
    assert index.continuation(3) == [7, 8, 0]
    assert index.follower() == (9, 3)


def test_prefers_the_longest_match() -> None:
    index = NgramIndex(3)
    index.extend([5, 3, 40, 6, 3, 41, 2, 6, 3])
    # "3" alone last led to 41, but "6 3" led to 41 as well and is longer; "2 6 3" never occurred.
    assert index.follower() == (5, 2)
    index.extend([50, 7, 3])
    assert index.follower() == (9, 1)  # only "3" matches: its latest follower was 50


def test_never_matches_itself_and_needs_n_min() -> None:
    index = NgramIndex(3)
    index.extend([4, 5, 6])
    assert index.continuation(4) == []
    index.extend([9, 6])
    assert index.continuation(4) == [9, 6]
    assert index.continuation(4, n_min=2) == []


def test_incremental_index_equals_one_built_at_once() -> None:
    rng = random.Random(3)
    tokens = [rng.randrange(12) for _ in range(400)]
    whole = NgramIndex(4)
    whole.extend(tokens)
    grown = NgramIndex(4)
    for i in range(0, len(tokens), 7):
        grown.extend(tokens[i : i + 7])
        part = NgramIndex(4)
        part.extend(tokens[: i + 7])
        assert grown.continuation(8) == part.continuation(8)
    assert grown.tokens == whole.tokens
    assert grown.continuation(16) == whole.continuation(16)


def test_large_token_ids_do_not_collide() -> None:
    index = NgramIndex(2)
    index.extend([262_143, 1, 99, 0, 262_143 << 1, 1])
    assert index.follower(n_min=2) is None  # "262143 1" ≠ "524286 1"
    assert index.continuation(1) == [99]


def test_drafter_follows_the_history_it_is_given() -> None:
    drafter = PromptLookup(n_max=3, n_min=2)
    history = [10, 11, 12, 13, 14, 10, 11]
    assert drafter.draft(history, 3) == [12, 13, 14]
    history += [12, 13]  # the drafts were accepted
    assert drafter.draft(history, 2) == [14, 10]
    assert len(drafter.index) == len(history)  # indexed as it grew, not rebuilt
    # A different conversation (a new turn that rewrote the end): the index starts again.
    assert drafter.draft([1, 2, 3, 1, 2], 4) == [3, 1, 2]
    drafter.reset()
    assert len(drafter.index) == 0


def test_draft_length_grows_on_full_acceptance_and_shrinks_on_rejection() -> None:
    length = AdaptiveLength(16, start=4, floor=2)
    length.update(4, 4)
    assert length.n == 8
    length.update(8, 8)
    assert length.n == 16
    length.update(16, 16)
    assert length.n == 16
    length.update(16, 5)
    assert length.n == 6
    length.update(6, 0)
    assert length.n == 2  # never below the floor
    length.update(1, 1)  # the drafter had fewer to offer: nothing learned about longer drafts
    assert length.n == 2


def test_draft_length_stops_growing_where_longer_batches_emit_slower() -> None:
    length = AdaptiveLength(16, start=4, floor=4)
    length.update(4, 4, seconds=0.05)  # 10 ms a token
    assert length.n == 8
    length.update(8, 8, seconds=0.18)  # 20 ms a token: longer is worse here
    assert length.n == 4
    length.update(4, 4, seconds=0.05)
    assert length.n == 4


def test_pace_pauses_drafting_that_is_slower_than_plain_decoding() -> None:
    pace = DraftPace(8, warmup=2, probe_every=100, trials=3, pause=10)
    assert [pace.want() for _ in range(2)] == [0, 0]  # warm-up: measure plain steps first
    pace.plain(0.020)
    pace.plain(0.020)
    for _ in range(3):
        assert pace.want() > 0
        pace.drafted(4, 0, 0.060)  # one token for 60 ms: three times slower
    assert pace.counts.pauses == 1
    assert [pace.want() for _ in range(10)] == [0] * 10
    assert pace.want() > 0  # then it tries again; the next pause is twice as long
    counts = pace.finish()
    assert counts.drafted == 12 and counts.accepted == 0 and counts.plain_s_per_token == 0.020


def test_pace_keeps_drafting_that_pays() -> None:
    pace = DraftPace(8, warmup=1, probe_every=5, trials=2, pause=10)
    assert pace.want() == 0
    pace.plain(0.020)
    wants = []
    for _ in range(20):
        n = pace.want()
        wants.append(n)
        if n:
            pace.drafted(n, n, 0.010 * (n + 1))  # 10 ms a token
        else:
            pace.plain(0.020)
    assert pace.counts.pauses == 0
    assert wants.count(0) == 4  # only the probes every fifth step decode plainly
