// Encoding and decoding of the Thunderbolt rule commands (EGPU_A_RULE,
// EGPU_A_RULES) and of what the policy commands need from a TB_GET dump
// message: pure functions over attribute streams, like genl_codec.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "control.h"
#include "genl_codec.h"

namespace egpuctl {

// One message of a TB_RULE_GET dump, or the reply of TB_RULE_ADD: an
// EGPU_A_RULE nest with ID and text (hits optional).  Throws Error (exit
// code 1) when malformed; any byte sequence is safe to pass.
TbRuleEntry decode_tb_rule(std::span<const uint8_t> attrs,
                           const char* what = "list Thunderbolt rules");

// EGPU_A_RULE { EGPU_A_RULE_TEXT } (TB_RULE_ADD).
Bytes encode_tb_rule_text(const std::string& text);
// EGPU_A_RULE { EGPU_A_RULE_ID } (TB_RULE_DEL).
Bytes encode_tb_rule_id(uint32_t id);
// EGPU_A_RULES (TB_RULES_SET); "" clears the set.
Bytes encode_tb_rules(const std::string& text);

// The members of TbDeviceInfo from one TB_GET dump message (an EGPU_A_TB
// nest; EGPU_A_TB_NAME required, everything else optional).  Throws Error
// when malformed; any byte sequence is safe to pass.
TbDeviceInfo decode_tb_device_info(std::span<const uint8_t> attrs);

}  // namespace egpuctl
