// Decoding of the Thunderbolt replies of egpu_gate (TB_GET dump, TEARDOWN_PLAN
// dump, EVENT notifications) and encoding of TB_AUTHORIZE/_DEAUTHORIZE:
// pure functions over attribute streams, like genl_codec.h.  Any byte
// sequence is safe to pass to the decoders (fuzzing entry points); they
// throw Error (exit code 1) on malformed input; unknown attributes are
// ignored.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "device_control.h"
#include "genl_codec.h"

namespace egpuctl {

// One message of a TB_GET dump (one EGPU_A_TB nest).  Required: NAME,
// DOMAIN.
TbDevice decode_tb(std::span<const uint8_t> attrs);

// One message of a TEARDOWN_PLAN dump (one EGPU_A_STEP nest).  Required:
// INDEX, ACTION, TARGET.
TeardownStep decode_step(std::span<const uint8_t> attrs);

// One EGPU_CMD_EVENT notification (one EGPU_A_EVENT nest).  Required: TYPE.
Event decode_event(std::span<const uint8_t> attrs);

// The attributes of TB_AUTHORIZE / TB_DEAUTHORIZE: EGPU_A_TB { NAME }.
Bytes encode_tb_name(const std::string& name);

// Names of the enums, for text and JSON ("authorized", "unbind",
// "tb_seen"); unknown values as their number.
std::string decision_name(uint8_t decision);
std::string step_action_name(uint8_t action);
std::string event_type_name(uint8_t type);

}  // namespace egpuctl
