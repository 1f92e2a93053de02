"""Commits never pass a message no stream has finished (streams/offsets.py).

Faust's own consumer is kept in the tests to show the failures the chaos runs hit: it commits over
the message at the committed position when that one is still in flight, was skipped, or was never
handed to a stream, so a worker restarted after the commit never processes it.
"""

from __future__ import annotations

import faust
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from pagestream.streams.offsets import InFlightSafeConsumer, Refetch, not_finished, use_in_flight_safe_commits

TOPIC = TP("pages.raw", 0)


def consumer(safe: bool) -> faust.types.ConsumerT:
    app = faust.App("offsets-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    if safe:
        use_in_flight_safe_commits(app)
    app.topics._acking_topics.add(TOPIC.topic)  # what subscribing an agent to the topic does
    return app.consumer


def taken(c: faust.types.ConsumerT, offsets: range) -> list[ConsumerMessage]:
    """Messages as streams take them from the topic: tracked, not yet acknowledged."""
    messages = [ConsumerMessage(TOPIC.topic, TOPIC.partition, o, 0.0, None, None, b"k", b"v", None) for o in offsets]
    for m in messages:
        m.tracked = True  # what Stream.__aiter__ does before it calls Consumer.track_message's body
        c.track_message(m)
    return messages


def commit(c: faust.types.ConsumerT) -> int | None:
    """The offset a commit now would write; recorded as committed, as Faust does after writing it."""
    offset = c._new_offset(TOPIC)
    if offset is not None:
        c._committed_offset[TOPIC] = offset
    return offset


@pytest.mark.parametrize("committed", [10, None])
def test_faust_alone_commits_over_the_in_flight_message(committed: int | None) -> None:
    c = consumer(safe=False)
    messages = taken(c, range(10, 14))
    c._committed_offset[TOPIC] = committed
    for m in messages[1:3]:  # 11 and 12 finish while 10 is still being processed
        c.ack(m)
    assert commit(c) == 13  # a restart would begin at 13: offset 10 lost


def test_commit_waits_for_the_in_flight_message() -> None:
    c = consumer(safe=True)
    assert isinstance(c, InFlightSafeConsumer)
    messages = taken(c, range(10, 14))
    c._committed_offset[TOPIC] = 10
    for m in messages[1:3]:
        c.ack(m)
    assert c.in_flight_offset(TOPIC) == 10
    assert commit(c) is None
    c.ack(messages[0])
    assert commit(c) == 13  # 10, 11 and 12 done; 13 still in flight
    c.ack(messages[3])
    assert commit(c) == 14


def test_commit_goes_up_to_the_in_flight_message() -> None:
    c = consumer(safe=True)
    messages = taken(c, range(0, 5))
    c._committed_offset[TOPIC] = 0  # a partition never committed starts at its earliest offset
    for m in (messages[0], messages[1], messages[3], messages[4]):
        c.ack(m)
    assert commit(c) == 2  # 0 and 1 are done, 2 is not
    c.ack(messages[2])
    assert commit(c) == 5


@pytest.mark.parametrize("safe", [False, True])
def test_a_skipped_message_does_not_count_as_done(safe: bool) -> None:
    """After a rebalance a stream skips what it fetched in the old generation and acks it anyway;
    only the copy fetched again after the seek is processed."""
    c = consumer(safe=safe)
    c._committed_offset[TOPIC] = 10
    stale = ConsumerMessage(TOPIC.topic, TOPIC.partition, 10, 0.0, None, None, b"k", b"v", None)  # never tracked
    c.ack(stale)
    if not safe:
        assert commit(c) == 11  # Faust: offset 10 counts as done although nothing processed it
        return
    assert commit(c) is None
    [again] = taken(c, range(10, 11))
    c.ack(again)
    assert commit(c) == 11


@pytest.mark.parametrize("safe", [False, True])
def test_a_message_never_handed_to_a_stream_is_not_committed_over(safe: bool) -> None:
    """The CI chaos evidence: offset 1 was fetched, cleared from the agents' queues by a rebalance
    and never processed, while 0 and 2 onwards were."""
    c = consumer(safe=safe)
    c._committed_offset[TOPIC] = 0
    zero, two, three = taken(c, [0, 2, 3])
    for m in (zero, two, three):
        c.ack(m)
    if not safe:
        assert commit(c) == 1
        assert commit(c) == 4  # Faust: 2 - 1 is "no gap": offset 1 committed over, never processed
        return
    assert commit(c) == 1
    assert commit(c) is None
    assert c.dropped_offset(TOPIC) == 1  # what the consumer then fetches again
    [one] = taken(c, [1])
    assert c.dropped_offset(TOPIC) is None  # being processed now
    c.ack(one)
    assert commit(c) == 4


def test_no_commit_before_the_partition_start_is_known() -> None:
    c = consumer(safe=True)
    [m] = taken(c, [5])
    c.ack(m)
    assert commit(c) is None  # which offsets came before 5 is unknown until the seek sets the start
    c._committed_offset[TOPIC] = 5
    assert commit(c) == 6


def test_offsets_that_do_not_exist_count_as_done() -> None:
    """Transaction markers leave offsets no message has (Faust records them as gaps)."""
    c = consumer(safe=True)
    c._committed_offset[TOPIC] = 10
    first, after = taken(c, [10, 13])
    c._gap[TOPIC].addi(11, 13)
    c.ack(first)
    c.ack(after)
    assert c.dropped_offset(TOPIC) is None
    assert commit(c) == 14


def test_nothing_is_dropped_while_the_committed_message_is_in_flight() -> None:
    c = consumer(safe=True)
    c._committed_offset[TOPIC] = 10
    _, later = taken(c, [10, 11])
    c.ack(later)
    assert c.dropped_offset(TOPIC) is None
    assert commit(c) is None


def test_a_refetch_is_repeated_only_after_a_doubling_wait() -> None:
    """The fetched-again copy queues behind what the agent holds: no seek loop meanwhile."""
    plan = Refetch(offset=7)
    assert plan.due(100.0)  # the second sighting seeks
    assert not plan.due(105.0) and not plan.due(159.0)
    assert plan.due(160.0)  # 60 s later, once more
    assert not plan.due(270.0) and plan.due(280.0)  # then after 120 s


def test_a_message_whose_processing_was_interrupted_is_fetched_again() -> None:
    """A stage cancelled midway (the worker stopping): Faust acknowledges the message on the way out."""
    c = consumer(safe=True)
    c._committed_offset[TOPIC] = 3
    interrupted, done = taken(c, [3, 4])
    c.ack(done)
    not_finished(interrupted)
    c.ack(interrupted)
    assert commit(c) is None and c.dropped_offset(TOPIC) == 3
