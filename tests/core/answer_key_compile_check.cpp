// Compiled by ctest, not built: an answer key that needs JSON escaping must not
// compile (AnswerKey is consteval), and the same file with a plain key must.
// The pair shows a refusal is AnswerKey's, not a broken include path.
#include "core/control_protocol.h"

#ifdef TOKEND_PLAIN_KEY
static const tokend::StringMember member{"access_token", std::nullopt};
#else
static const tokend::StringMember member{"access\"token", std::nullopt};
#endif

int main() { return member.key.text().empty() ? 1 : 0; }
