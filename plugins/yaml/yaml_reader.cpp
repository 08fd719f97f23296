#include "yaml_reader.h"

namespace tokend::yaml_store {

std::vector<std::pair<std::string, EntryPtr>> parse_store_file(const std::string& text,
                                                               const std::string& file_name,
                                                               Declined* declined) {
    Declined why;
    if (auto entries = parse_store_file_fast(text, &why)) return std::move(*entries);
    if (declined != nullptr) *declined = std::move(why);
    return parse_store_file_with_yaml_cpp(text, file_name);
}

}  // namespace tokend::yaml_store
