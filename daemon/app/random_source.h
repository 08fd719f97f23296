// Randomness from the kernel's CSPRNG (getrandom), for flow ids, PKCE
// verifiers and retry jitter. Throws only if the kernel cannot provide it.
#pragma once

#include <string>

namespace tokend {

// `count` bytes from getrandom(2).
std::string random_bytes(size_t count);

// A uniform fraction in [0, 1), for jitter.
double random_fraction();

}  // namespace tokend
