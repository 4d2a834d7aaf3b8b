#include "server/kafka_records.h"

#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/record_proto.h"
#include "server/prefetch.h"

namespace dwae::server {
namespace {

// Zeek's default conn.log header (LogAscii), for TSV lines sent one per
// message without it.
constexpr absl::string_view kZeekConnHeader[] = {
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tconn",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
    "service\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\t"
    "local_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\t"
    "resp_pkts\tresp_ip_bytes\ttunnel_parents",
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\t"
    "interval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\t"
    "count\tcount\tcount\tset[string]",
};

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> KafkaRecordDecoder::Create(
    absl::string_view format) {
  absl::StatusOr<InputFormat> parsed = ParseInputFormat(format);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka format: ", parsed.status().message()));
  }
  if (*parsed == InputFormat::kAuto) {
    return absl::InvalidArgumentError(
        "kafka format: auto is not supported; name the topic's format");
  }
  std::unique_ptr<KafkaRecordDecoder> d(
      new KafkaRecordDecoder(*parsed, *SchemaOfFormat(*parsed)));
  if (*parsed == InputFormat::kZeek) {
    // Messages are single lines: start with Zeek's default conn.log header.
    Entry unused;
    for (absl::string_view line : kZeekConnHeader) {
      if (absl::StatusOr<bool> s = d->reader_.Next(line, &unused); !s.ok()) {
        return s.status();
      }
    }
  }
  return d;
}

absl::Status KafkaRecordDecoder::Decode(const KafkaMessageRef& message,
                                        BatchEntry* entry, std::string* id,
                                        std::string* sensor_id) {
  // The entry is cold (a batch's 2048 entries are 2.5 MB, beyond L2), and
  // the record is moved into it below: fetch its lines while the parser
  // runs instead of stalling on them then (perf put 60% of Decode's own
  // time on that first touch).
  PrefetchForWrite(entry, 1);  // its first line: status, ids, flags
  PrefetchForWrite(&entry->record, sizeof(Record));
  absl::StatusOr<bool> got = reader_.Next(message.value, &entry_);
  if (!got.ok()) return got.status();
  if (!*got) return absl::InvalidArgumentError("value: holds no record");
  id->clear();
  absl::StrAppend(id, message.topic, ":", message.partition, ":",
                  message.offset);
  sensor_id->assign(message.key.data(), message.key.size());
  if (absl::Status s = CheckParsedEntry(entry_, *id, *sensor_id); !s.ok()) {
    return s;
  }
  entry->status = absl::OkStatus();
  entry->sensor_id = sensor_id;
  if (Connection* c = std::get_if<Connection>(&entry_)) {
    entry->is_connection = true;
    // Swapped: both sides keep their strings' storage for the next message.
    std::swap(entry->connection, *c);
    // The verdict's id is the uid when there is one, else this id.
    entry->id = entry->connection.uid.empty() ? id : &entry->connection.uid;
  } else {
    entry->is_connection = false;
    // Moved: a swap would copy the numeric arrays three times (through a
    // temporary), a move once; KDD's strings are short (no heap storage
    // to keep).
    entry->record = std::move(std::get<Record>(entry_));
    entry->id = id;
  }
  return absl::OkStatus();
}

}  // namespace dwae::server
