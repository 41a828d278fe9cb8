#include "modrt/error.hpp"

#include <cstring>

namespace modrt {

void throw_system_error(int code, std::string message) {
  message += ": ";
  message += std::strerror(code);
  throw Error(std::move(message), code);
}

}  // namespace modrt
