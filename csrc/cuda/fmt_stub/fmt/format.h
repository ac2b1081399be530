// Copyright © 2026 mlx-cosine-decay authors.
//
// A stand-in for <fmt/format.h>, which MLX's CUDA headers include but its
// wheels do not ship. Those headers call fmt::format only to build error
// messages in templates we do not instantiate; this formats "{}" fields with
// operator<< so that they still read right if we ever do.

#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace fmt {

template <typename... Args>
std::string format(std::string_view pattern, const Args&... args) {
  std::ostringstream os;
  size_t at = 0;
  auto field = [&](const auto& arg) {
    size_t open = pattern.find("{}", at);
    if (open == std::string_view::npos) {
      return;
    }
    os << pattern.substr(at, open - at) << arg;
    at = open + 2;
  };
  (field(args), ...);
  os << pattern.substr(at);
  return os.str();
}

} // namespace fmt
