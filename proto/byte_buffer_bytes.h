// ByteBufferBytes: the bytes of a received grpc::ByteBuffer as one view,
// for the code that reads messages as bytes (the Stream handler's wire
// reader, the unary Score handler's tests, the client's stream workers).
//
// Thread-safety: a pure function; the view lives as long as `single` and
// `joined` are left unchanged.
#ifndef DWAE_PROTO_BYTE_BUFFER_BYTES_H_
#define DWAE_PROTO_BYTE_BUFFER_BYTES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace dwae {

// Sets *bytes to the message's single slice, held in `single` (a small
// slice keeps its bytes inline, in the grpc::Slice itself), or to its
// slices copied into `joined`. False, with *bytes empty, when gRPC cannot
// give the slices.
inline bool ByteBufferBytes(const grpc::ByteBuffer& buffer, grpc::Slice* single,
                            std::string* joined, absl::string_view* bytes) {
  *bytes = absl::string_view();
  if (buffer.TrySingleSlice(single).ok()) {
    *bytes = absl::string_view(reinterpret_cast<const char*>(single->begin()),
                               single->size());
    return true;
  }
  std::vector<grpc::Slice> slices;
  joined->clear();
  if (!buffer.Dump(&slices).ok()) return false;
  for (const grpc::Slice& s : slices) {
    joined->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  *bytes = *joined;
  return true;
}

}  // namespace dwae

#endif  // DWAE_PROTO_BYTE_BUFFER_BYTES_H_
