"""scripts/perf-costs on a hand-made `perf script` text: each sample goes to
the first part whose function is on its chain, the shares add up to 100%,
allocator leaves are counted, and ns/record follows from --records/--hz."""
import subprocess
import sys
import unittest

SCRIPT = sys.argv[1] + "/scripts/perf-costs"

# Five samples: scoring (malloc leaf under it), the verdict window inside
# Engine::Score (the window wins: it is listed first), the learner, a gRPC
# poller thread and a parse.
PERF_SCRIPT = """\
grpcpp_sync_ser 101
\t  1000 malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t  2000 dwae::ScoringModel::Score (/usr/bin/dwaed)
\t  3000 dwae::server::Engine::Score (/usr/bin/dwaed)

grpcpp_sync_ser 101
\t  1000 dwae::server::VerdictLog::Append (/usr/bin/dwaed)
\t  3000 dwae::server::Engine::Score (/usr/bin/dwaed)

dwaed 102
\t  1000 dwae::Network::Forward (/usr/bin/dwaed)
\t  2000 dwae::Detector::Process (/usr/bin/dwaed)
\t  3000 dwae::server::Engine::LearnerLoop (/usr/bin/dwaed)

nexting_thread 103
\t  1000 epoll_wait (/usr/lib/x86_64-linux-gnu/libc.so.6)

grpcpp_sync_ser 101
\t  1000 dwae::v1::Record::_InternalParse (/usr/bin/dwaed)
\t  2000 grpc::GenericDeserialize<grpc::ProtoBufferReader, x> (/usr/bin/dwaed)
"""


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], input=PERF_SCRIPT,
                          capture_output=True, text=True, check=True).stdout


class PerfCostsTest(unittest.TestCase):
    def test_parts_shares_and_allocator(self):
        rows = {}
        for line in run("--markdown").splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 3 and cells[1].endswith("%"):
                rows[cells[0]] = (float(cells[1][:-1]), float(cells[2][:-1]))
        self.assertEqual(rows["scoring (encode, int8 forward, top-k)"],
                         (20.0, 20.0))
        self.assertEqual(rows["verdict window"], (20.0, 0.0))
        self.assertEqual(rows["learner: learn + threshold"], (20.0, 0.0))
        self.assertEqual(rows["gRPC, HTTP/2, sockets (incl. kernel)"],
                         (20.0, 0.0))
        self.assertEqual(rows["protobuf parse (RecordBatch)"], (20.0, 0.0))
        self.assertAlmostEqual(sum(share for share, _ in rows.values()), 100.0)

    def test_nanoseconds_per_record(self):
        # 5 samples at 1000 Hz = 5 ms of CPU over 1000 records: 5000 ns each,
        # 1000 ns in each part.
        out = run("--records", "1000", "--hz", "1000", "--markdown")
        self.assertIn("| verdict window | 20.0% | 0.0% | 1000 |", out)
        self.assertIn("5000 ns/record in all", out)

    def test_wire_path_split(self):
        # The Stream wire path: RecordFromFields (its checks and the copy)
        # is "proto -> record" as RecordFromProto is; the wire reader's own
        # loop, even inside the shared Featurizer::ConvertRecords, is not.
        text = """\
grpcpp_sync_ser 101
\t  1000 dwae::RecordFromFields (/usr/bin/dwaed)
\t  2000 dwae::server::StreamBatchReader::Read (/usr/bin/dwaed)

grpcpp_sync_ser 101
\t  1000 memcpy (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t  2000 dwae::RecordFromFields (/usr/bin/dwaed)
\t  3000 dwae::server::StreamBatchReader::Read (/usr/bin/dwaed)

grpcpp_sync_ser 101
\t  1000 memcpy (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t  2000 void dwae::server::Featurizer::ConvertRecords<x>(x) (/usr/bin/dwaed)
\t  3000 dwae::server::StreamBatchReader::Read (/usr/bin/dwaed)

grpcpp_sync_ser 101
\t  1000 dwae::server::Featurizer::RefuseDuplicateIds (/usr/bin/dwaed)
\t  2000 void dwae::server::Featurizer::ConvertRecords<x>(x) (/usr/bin/dwaed)
\t  3000 dwae::server::StreamBatchReader::Read (/usr/bin/dwaed)

grpcpp_sync_ser 101
\t  1000 dwae::RecordBatchWire::Parse (/usr/bin/dwaed)
\t  2000 dwae::server::StreamBatchReader::Read (/usr/bin/dwaed)
"""
        out = subprocess.run([sys.executable, SCRIPT, "--markdown"],
                             input=text, capture_output=True, text=True,
                             check=True).stdout
        self.assertIn("| proto -> record (featurizer, validation) | 60.0% |",
                      out)
        self.assertIn("| wire reader (Stream: RecordBatch bytes -> records) "
                      "| 40.0% |", out)

    def test_empty_input_fails(self):
        r = subprocess.run([sys.executable, SCRIPT], input="",
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no samples", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
