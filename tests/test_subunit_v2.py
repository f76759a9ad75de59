"""Our v2 codec against python-subunit's, in both directions."""

import datetime
import io

import subunit
import testtools
from hypothesis import given, settings, strategies as st
from testtools.testresult.doubles import StreamResult as RecordingResult

from testrepo import subunit_v2

UTC = datetime.timezone.utc
texts = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                max_size=30)
events = st.fixed_dictionaries({
    "test_id": st.none() | texts,
    "status": st.sampled_from(list(subunit_v2.STATUS_CODES)),
    "tag": st.none() | texts.filter(bool),
    "runnable": st.booleans(),
    "file": st.none() | st.tuples(texts, st.binary(max_size=300)),
    "eof": st.booleans(),
    "mime_type": st.none() | texts.filter(bool),
    "route_code": st.none() | texts,
    "micros": st.none() | st.integers(0, 2 ** 31 * 1_000_000),
})


def reference_bytes(event):
    sink = io.BytesIO()
    file_name, file_bytes = event["file"] or (None, None)
    timestamp = None
    if event["micros"] is not None:
        timestamp = (datetime.datetime(1970, 1, 1, tzinfo=UTC)
                     + datetime.timedelta(microseconds=event["micros"]))
    subunit.StreamResultToBytes(sink).status(
        test_id=event["test_id"], test_status=event["status"],
        test_tags={event["tag"]} if event["tag"] else None, runnable=event["runnable"],
        file_name=file_name, file_bytes=file_bytes, eof=event["eof"],
        mime_type=event["mime_type"], route_code=event["route_code"], timestamp=timestamp)
    return sink.getvalue()


def our_bytes(event):
    file_name, file_bytes = event["file"] or (None, b"")
    timestamp = None if event["micros"] is None else event["micros"] / 1_000_000
    return subunit_v2.encode(
        event["test_id"], event["status"], [event["tag"]] if event["tag"] else None,
        event["runnable"], file_name, file_bytes, event["eof"], event["mime_type"],
        event["route_code"], timestamp)


class TestCodec(testtools.TestCase):

    @settings(max_examples=300, deadline=None)
    @given(events)
    def test_encoding_matches_python_subunit(self, event):
        self.assertEqual(reference_bytes(event), our_bytes(event))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(events, max_size=5))
    def test_decoding_matches_python_subunit(self, event_list):
        data = b"".join(reference_bytes(event) for event in event_list)
        expected = RecordingResult()
        subunit.ByteStreamToStreamResult(io.BytesIO(data)).run(expected)
        ours = RecordingResult()
        subunit_v2.replay(data, ours)
        self.assertEqual(_normalised(expected._events), _normalised(ours._events))

    def test_big_attachments_are_split_and_read_back_whole(self):
        blob = bytes(range(256)) * 40000  # 10 MB, more than one packet holds
        data = subunit_v2.encode("t", "fail", file_name="log", file_bytes=blob, eof=True)
        parts = list(subunit_v2.iter_events(data))
        self.assertEqual(blob, b"".join(part.file_bytes for part in parts))
        self.assertEqual(["fail"], [p.status for p in parts if p.status])
        recorder = RecordingResult()
        subunit.ByteStreamToStreamResult(io.BytesIO(data)).run(recorder)
        self.assertEqual(blob, b"".join(bytes(e[6]) for e in recorder._events if e[6]))

    def test_noise_and_corruption(self):
        good = subunit_v2.encode("t", "success")
        bad = bytearray(subunit_v2.encode("u", "success"))
        bad[-1] ^= 0xFF
        found = list(subunit_v2.iter_events(b"hello\n" + good + bytes(bad) + good[:5]))
        self.assertEqual((None, "stdout", b"hello\n"),
                         (found[0].test_id, found[0].file_name, found[0].file_bytes))
        self.assertEqual(("t", "success"), (found[1].test_id, found[1].status))
        self.assertEqual(["subunit.parser", "subunit.parser"],
                         [event.test_id for event in found[2:]])

    def test_a_packet_cut_off_in_its_length_field_is_a_parser_failure(self):
        # Six bytes whose length field says 4 bytes: it ends after 3.
        found = list(subunit_v2.iter_events(b"\xb3\x00\x00\xc0\x00\x00"))
        self.assertEqual(["subunit.parser"], [event.test_id for event in found])


def _normalised(recorded):
    out = []
    for event in recorded:
        if event[0] != "status":
            continue
        event = list(event)
        event[6] = bytes(event[6]) if event[6] is not None else None
        out.append(tuple(event))
    return out
