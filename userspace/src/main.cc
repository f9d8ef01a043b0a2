// egpuctl: command line tool of egpu-gate.  See commands.cc.
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "netlink_control.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(true);
  egpuctl::Context ctx(std::cout, std::cerr, egpuctl::make_netlink_control);
  return egpuctl::egpuctl_main(ctx, std::vector<std::string>(argv + 1, argv + argc));
}
