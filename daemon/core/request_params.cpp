#include "core/request_params.h"

#include <string>

namespace tokend {
namespace {

Param param_of(const Json& value) {
    Param param;
    param.json = &value;
    switch (value.type()) {
        case Json::value_t::null:
            param.kind = Param::Kind::null;
            break;
        case Json::value_t::boolean:
            param.kind = Param::Kind::boolean;
            param.flag = value.get<bool>();
            break;
        case Json::value_t::number_unsigned:
            param.kind = Param::Kind::whole_number;
            param.number = value.get<uint64_t>();
            break;
        case Json::value_t::string:
            param.kind = Param::Kind::string;
            param.text = value.get_ref<const std::string&>();
            break;
        default:
            param.kind = Param::Kind::other;
            break;
    }
    return param;
}

}  // namespace

Json Param::to_json() const {
    if (json != nullptr) return *json;
    switch (kind) {
        case Kind::boolean:
            return flag;
        case Kind::whole_number:
            return number;
        case Kind::string:
            return std::string(text);
        default:
            return nullptr;  // absent or null (a plain parse has no other values)
    }
}

RequestParams::RequestParams(Json object) : object_(std::move(object)) {}

void RequestParams::add_plain(std::string_view key, const Param& value) { plain_.at(plain_count_++) = {key, value}; }

void RequestParams::clear() {
    if (!object_.is_null()) object_ = nullptr;
    plain_count_ = 0;
}

Param RequestParams::find(std::string_view key) const {
    if (object_.is_object()) {
        const auto it = object_.find(std::string(key));
        return it == object_.end() ? Param{} : param_of(*it);
    }
    for (size_t i = 0; i < plain_count_; ++i) {
        if (plain_[i].first == key) return plain_[i].second;
    }
    return {};
}

Json RequestParams::to_json() const {
    if (object_.is_object()) return object_;
    Json object = Json::object();
    for (size_t i = 0; i < plain_count_; ++i) object[std::string(plain_[i].first)] = plain_[i].second.to_json();
    return object;
}

}  // namespace tokend
