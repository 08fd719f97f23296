// The real clock, for the edges; the core takes Timestamps from it.
#pragma once

#include "core/iso_time.h"

namespace tokend {

class SystemClock final : public Clock {
public:
    Timestamp now() const override {
        return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    }
};

}  // namespace tokend
