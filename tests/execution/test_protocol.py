"""The frames between the parent and built-in workers (data in, data out)."""

import io

import testtools

from testrepo.execution import protocol


def frames():
    out = io.BytesIO()
    protocol.write_ready(out, ["pkg.test_a.T.test_x"], True)
    protocol.write_test_frame(out, "pkg.test_a.T.test_x", "success", 1700000000.25,
                              1700000000.5, b"\xb3v2 bytes\n[", False)
    protocol.write_test_frame(out, "pkg.test_ü.T.test_y(\"a\\nb\")", "fail", 1.0, 2.0, b"",
                              True)
    protocol.write_batch_done(out)
    return out.getvalue()


EXPECTED = [
    ("r", ["r", 1, ["pkg.test_a.T.test_x"]], b""),
    ("t", ("t", "pkg.test_a.T.test_x", "success", 1700000000.25, 1700000000.5, 11, False),
     b"\xb3v2 bytes\n["),
    ("t", ("t", "pkg.test_ü.T.test_y(\"a\\nb\")", "fail", 1.0, 2.0, 0, True), b""),
    ("b", ["b"], b""),
]


class TestParseMessages(testtools.TestCase):

    def test_round_trip(self):
        data = frames()
        messages, used = protocol.parse_messages(data)
        self.assertEqual(len(data), used)
        self.assertEqual(EXPECTED, [(kind, tuple(m) if kind == "t" else m, payload)
                                    for kind, m, payload in messages])

    def test_split_anywhere_parses_the_same(self):
        # The parent reads pipes in arbitrary chunks.
        data = frames()
        for cut in range(len(data) + 1):
            first, used = protocol.parse_messages(data[:cut])
            rest, used_rest = protocol.parse_messages(data[used:])
            self.assertEqual(len(data), used + used_rest)
            self.assertEqual(4, len(first) + len(rest), cut)

    def test_stray_output_is_a_protocol_error(self):
        self.assertRaises(protocol.ProtocolError, protocol.parse_messages,
                          b"hello from a test\n")
