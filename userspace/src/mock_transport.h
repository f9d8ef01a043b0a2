// Mock GenlTransport.  Test code only.
#pragma once

#include <gmock/gmock.h>

#include "genl_transport.h"

namespace egpuctl::testing {

class MockTransport : public GenlTransport {
 public:
  MOCK_METHOD(std::vector<Bytes>, transact, (uint8_t cmd, const Bytes& attrs, const char* what),
              (override));
  MOCK_METHOD(std::vector<Bytes>, dump, (uint8_t cmd, const Bytes& attrs, const char* what),
              (override));
};

}  // namespace egpuctl::testing
