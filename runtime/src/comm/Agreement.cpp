//===- Agreement.cpp - Checking that the ranks run the same thing --------===//
//
// Ranks started with different executables or options would exchange
// tensors of other shapes or in another order: a hang or wrong numbers.
// An all-gather of one fingerprint per rank at start-up turns that into an
// error naming the ranks.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Communicator.h"

#include <vector>

namespace accel::rt {

void requireSameOnAllRanks(Communicator &comm, uint64_t value,
                           const std::string &what) {
  std::vector<uint64_t> all(comm.size());
  // u64 travels as i64: the bits are what is compared.
  comm.allGather({&value, DType::I64, {1}},
                 {all.data(), DType::I64, {comm.size()}})
      ->wait();
  std::string differing;
  for (int r = 1; r < comm.size(); ++r)
    if (all[r] != all[0])
      differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  if (!differing.empty())
    throw CommError("rank " + differing + " runs another " + what +
                    " than rank 0: start every rank with the same model "
                    "and options");
}

} // namespace accel::rt
