#include "core/record_wire.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/string_view.h"
#include "core/record.h"
#include "core/record_proto.h"

namespace dwae {
namespace {

// Wire types (protobuf encoding).
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLength = 2;

constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) {
  return field << 3 | wire_type;
}

// Field numbers (detector.proto, record.proto; google/protobuf/
// timestamp.proto for seconds and nanos).
constexpr uint32_t kBatchRecords = Tag(1, kLength);
constexpr uint32_t kBatchLearning = Tag(2, kVarint);
constexpr uint32_t kBatchTopK = Tag(3, kVarint);
constexpr uint32_t kRecordId = Tag(1, kLength);
constexpr uint32_t kRecordSensorId = Tag(2, kLength);
constexpr uint32_t kRecordObservedAt = Tag(3, kLength);
constexpr uint32_t kRecordFeatures = Tag(4, kLength);
constexpr uint32_t kRecordLabel = Tag(5, kLength);
constexpr uint32_t kTimestampSeconds = Tag(1, kVarint);
constexpr uint32_t kTimestampNanos = Tag(2, kVarint);

// A cursor over one message's bytes. Every read checks the bounds; a
// failed read leaves the cursor unusable (the parse declines).
class Reader {
 public:
  explicit Reader(absl::string_view bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool done() const { return p_ == end_; }

  // A varint of at most `max_bytes` bytes (9 at most: 63 bits; longer
  // ones, which only negative numbers need, are declined).
  bool Varint(int max_bytes, uint64_t* out) {
    uint64_t value = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (p_ == end_) return false;
      const uint8_t byte = static_cast<uint8_t>(*p_++);
      value |= uint64_t(byte & 0x7F) << (7 * i);
      if (byte < 0x80) {
        *out = value;
        return true;
      }
    }
    return false;
  }

  // A tag of the fields read here (numbers below 2048): two bytes at most.
  bool Tag(uint32_t* tag) {
    if (p_ != end_ && static_cast<uint8_t>(*p_) < 0x80) {
      *tag = static_cast<uint8_t>(*p_++);
      return *tag != 0;
    }
    uint64_t value;
    if (!Varint(2, &value) || value == 0) return false;
    *tag = uint32_t(value);
    return true;
  }

  // A length-delimited field's contents.
  bool Bytes(absl::string_view* out) {
    uint64_t size;
    if (!Varint(5, &size) || size > uint64_t(end_ - p_)) return false;
    *out = absl::string_view(p_, size_t(size));
    p_ += size;
    return true;
  }

  bool Double(double* out) {
    if (end_ - p_ < 8) return false;
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                  "fixed64 is little-endian on the wire");
    std::memcpy(out, p_, 8);
    p_ += 8;
    return true;
  }

 private:
  const char* p_;
  const char* const end_;
};

static_assert(kNumFeatures == 41 && kProtocolTypeIndex == 1 &&
              kServiceIndex == 2 && kFlagIndex == 3);

bool Ascii(absl::string_view s) {
  unsigned char any = 0;
  for (char c : s) any |= static_cast<unsigned char>(c);
  return any < 0x80;
}

// Features: field n is feature n - 1, a double (fixed64) except the three
// categorical strings.
bool ParseFeatures(absl::string_view bytes, RecordFields* f) {
  Reader in(bytes);
  while (!in.done()) {
    uint32_t tag;
    if (!in.Tag(&tag)) return false;
    const uint32_t field = tag >> 3;
    if (field < 1 || field > uint32_t(kNumFeatures)) return false;
    const int index = int(field) - 1;
    // Inline IsCategorical (the static_assert above).
    if (index < kProtocolTypeIndex || index > kFlagIndex) {
      if ((tag & 7) != kFixed64 || !in.Double(&f->numeric[index])) {
        return false;
      }
      continue;
    }
    absl::string_view* target = index == kProtocolTypeIndex ? &f->protocol_type
                                : index == kServiceIndex    ? &f->service
                                                            : &f->flag;
    if ((tag & 7) != kLength || !in.Bytes(target)) return false;
  }
  return true;
}

// google.protobuf.Timestamp: only checked (RecordFields has no place for
// it, as RecordFromProto ignores it).
bool ParseTimestamp(absl::string_view bytes) {
  Reader in(bytes);
  while (!in.done()) {
    uint32_t tag;
    uint64_t value;
    if (!in.Tag(&tag) || (tag != kTimestampSeconds && tag != kTimestampNanos) ||
        !in.Varint(9, &value)) {
      return false;
    }
  }
  return true;
}

// One serialized dwae.v1.Record (the bytes inside its length prefix) into
// `*fields` (reset first); false when declined.
bool ParseRecordWire(absl::string_view bytes, RecordFields* fields) {
  // Reset in place (assigning a RecordFields() zeroes a temporary and
  // copies it: a quarter of this function's time).
  fields->id = fields->sensor_id = fields->label = absl::string_view();
  fields->protocol_type = fields->service = fields->flag = absl::string_view();
  fields->has_features = false;
  fields->numeric.fill(0.0);
  Reader in(bytes);
  while (!in.done()) {
    uint32_t tag;
    if (!in.Tag(&tag)) return false;
    absl::string_view contents;
    if ((tag & 7) != kLength || !in.Bytes(&contents)) return false;
    switch (tag) {
      case kRecordId:
        fields->id = contents;
        break;
      case kRecordSensorId:
        fields->sensor_id = contents;
        break;
      case kRecordObservedAt:
        if (!ParseTimestamp(contents)) return false;
        break;
      case kRecordFeatures:
        // A second one would be merged into the first: left to protobuf.
        if (fields->has_features || !ParseFeatures(contents, fields)) {
          return false;
        }
        fields->has_features = true;
        break;
      case kRecordLabel:
        fields->label = contents;
        break;
      default:
        return false;
    }
  }
  // proto3 strings must be UTF-8 (protobuf refuses the batch otherwise):
  // only ASCII is taken here.
  return Ascii(fields->id) && Ascii(fields->sensor_id) &&
         Ascii(fields->label) && Ascii(fields->protocol_type) &&
         Ascii(fields->service) && Ascii(fields->flag);
}

// The fields of a serialized RecordBatch: learning and top_k into
// `*learning` and `*top_k`, each record's bytes to `record` (false from it:
// declined); false when declined.
template <typename OnRecord>
bool ParseBatchWire(absl::string_view bytes, int32_t* learning, uint32_t* top_k,
                    OnRecord record) {
  Reader in(bytes);
  while (!in.done()) {
    uint32_t tag;
    if (!in.Tag(&tag)) return false;
    uint64_t value;
    absl::string_view contents;
    switch (tag) {
      case kBatchRecords:
        if (!in.Bytes(&contents) || !record(contents)) return false;
        break;
      case kBatchLearning:
        if (!in.Varint(9, &value) || value > uint64_t(INT32_MAX)) return false;
        *learning = int32_t(value);
        break;
      case kBatchTopK:
        if (!in.Varint(9, &value) || value > uint64_t(UINT32_MAX)) {
          return false;
        }
        *top_k = uint32_t(value);
        break;
      default:  // connections (field 4) and unknown fields
        return false;
    }
  }
  return true;
}

}  // namespace

bool RecordBatchWire::Parse(absl::string_view bytes, size_t max_records) {
  size_t n = 0;  // records read; the vector's elements are reused
  learning = 0;
  top_k = 0;
  over_limit = 0;
  RecordFields past_limit;
  const bool read =
      ParseBatchWire(bytes, &learning, &top_k, [&](absl::string_view record) {
        if (n++ >= max_records) return ParseRecordWire(record, &past_limit);
        if (records.size() < n) records.emplace_back();
        return ParseRecordWire(record, &records[n - 1]);
      });
  if (n > max_records) {
    records.resize(max_records);
    over_limit = read ? n : 0;
    return false;
  }
  records.resize(n);
  return read;
}

}  // namespace dwae
