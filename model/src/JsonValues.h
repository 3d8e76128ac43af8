// Values read from JSON that came from a file (a model file's configuration, a safetensors header, a training
// checkpoint's record). nlohmann's get<int>() converts 4e38 or -1 into an int or an unsigned with a plain
// cast, which is undefined behaviour; these helpers check each value's kind and range first and throw
// std::invalid_argument naming the key ("shape: expected an integer from 0 to ..., got 4.4e+38").
// A whole-valued float ("heads": 4.0) is accepted for an integer.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace engram::model::json {

template <typename T>
struct IsVector : std::false_type {};
template <typename E>
struct IsVector<std::vector<E>> : std::true_type {};

[[noreturn]] inline void wrongValue(const std::string& key, const std::string& expected,
                                    const nlohmann::json& v) {
    std::string shown = v.dump();
    if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
    throw std::invalid_argument(key + ": expected " + expected + ", got " + shown);
}

template <typename T>
T as(const nlohmann::json& v, const std::string& key) {
    if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_boolean()) wrongValue(key, "true or false", v);
        return v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
        using Limits = std::numeric_limits<T>;
        if (v.is_number_unsigned()) {
            const auto u = v.get<std::uint64_t>();
            if (u <= static_cast<std::uint64_t>(Limits::max())) return static_cast<T>(u);
        } else if (v.is_number_integer()) {
            const auto s = v.get<std::int64_t>();
            if constexpr (std::is_signed_v<T>) {
                if (s >= Limits::min() && s <= Limits::max()) return static_cast<T>(s);
            } else if (s >= 0 && static_cast<std::uint64_t>(s) <= Limits::max()) {
                return static_cast<T>(s);
            }
        } else if (v.is_number_float()) {
            // Within [-2^digits, 2^digits), the range every T holds exactly at its ends.
            const double d = v.get<double>();
            const double limit = std::ldexp(1.0, Limits::digits);
            if (std::trunc(d) == d && d < limit && d >= (Limits::is_signed ? -limit : 0.0))
                return static_cast<T>(d);
        }
        wrongValue(
            key, "an integer from " + std::to_string(Limits::min()) + " to " + std::to_string(Limits::max()),
            v);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!v.is_number()) wrongValue(key, "a number", v);
        const double d = v.get<double>();
        if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<T>::max())))
            wrongValue(key, "a number within range", v);
        return static_cast<T>(d);
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string()) wrongValue(key, "a string", v);
        return v.get<std::string>();
    } else {
        static_assert(IsVector<T>::value, "json::as reads bools, numbers, strings and vectors of them");
        if (!v.is_array()) wrongValue(key, "a list", v);
        T out;
        out.reserve(v.size());
        for (const auto& e : v) out.push_back(as<typename T::value_type>(e, key));
        return out;
    }
}

// object[key] as a T; a missing key throws.
template <typename T>
T at(const nlohmann::json& object, const std::string& key) {
    if (!object.is_object() || !object.contains(key)) throw std::invalid_argument(key + ": missing");
    return as<T>(object.at(key), key);
}

// Sets `field` from object[key] when the key is there; leaves it alone otherwise.
template <typename T>
void readIfPresent(const nlohmann::json& object, const std::string& key, T& field) {
    if (object.is_object() && object.contains(key)) field = as<T>(object.at(key), key);
}

}  // namespace engram::model::json
