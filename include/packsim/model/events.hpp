#pragma once
// Physical events the model produced during a tick (a cell vented, ran away, opened; a contactor
// did not open when commanded), as ground truth for the outputs. A fixed-capacity queue sized
// once: the model pushes, the session drains it after every tick, and a full queue counts what it
// had to drop rather than allocate.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace packsim::model {

enum class ModelEventKind : std::uint8_t {
  kVent,             // index: cell; value: gas released at the vent (g)
  kRunaway,          // index: cell; value: temperature at the onset (K)
  kCellOpened,       // index: cell; value: 0
  kContactorStuck,   // index: 0 main+, 1 main-, 2 precharge; value: 1 welded, 0 stuck open
  kPrechargeFailed,  // index: 0; value: link voltage (V) when the precharge window ended
};

const char* model_event_name(ModelEventKind kind);

struct ModelEvent {
  std::int64_t time_ns = 0;
  ModelEventKind kind = ModelEventKind::kVent;
  int index = 0;
  double value = 0.0;
};

class ModelEventQueue {
 public:
  explicit ModelEventQueue(std::size_t capacity = 256) : buf_(capacity) {}
  // No allocation: a full queue drops the event and counts it.
  void push(const ModelEvent& e) {
    if (count_ == buf_.size()) {
      ++dropped_;
      return;
    }
    buf_[(head_ + count_) % buf_.size()] = e;
    ++count_;
  }
  bool pop(ModelEvent& out) {
    if (count_ == 0) return false;
    out = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    --count_;
    return true;
  }
  std::size_t size() const { return count_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  std::vector<ModelEvent> buf_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::uint64_t dropped_ = 0;
};

inline const char* model_event_name(ModelEventKind kind) {
  switch (kind) {
    case ModelEventKind::kVent:
      return "vent";
    case ModelEventKind::kRunaway:
      return "runaway";
    case ModelEventKind::kCellOpened:
      return "cell_opened";
    case ModelEventKind::kContactorStuck:
      return "contactor_stuck";
    case ModelEventKind::kPrechargeFailed:
      return "precharge_failed";
  }
  return "?";
}

}  // namespace packsim::model
