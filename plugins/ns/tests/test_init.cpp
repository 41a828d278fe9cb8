#include "modrt_test.hpp"
