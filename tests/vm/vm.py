#!/usr/bin/env python3
"""vm.py - boot a kernel in QEMU (TCG) with a busybox initramfs, run guest
test scripts, and write one TAP file.

Usage:
  tests/vm/vm.py --kernel BZIMAGE [--modroot DIR] [--modules "vfio vfio_pci"]
                 [--ko FILE]... [--bin FILE]... [--file SRC:DST]...
                 --script GUEST.sh [--script ...] --tap OUT.tap
                 [--console OUT.log] [--guest-log OUT.guest.log]
                 [--name PREFIX] [--timeout S] [--mem M] [--smp N]
                 [--append "..."] [--allow-taint OE] [--pciehp] [--qemu-arg ARG]...
                 [--bzimage] [--vmlinux-cache DIR] [--release REL]
                 [--no-strip] [--keep] [--verbose]

Kernel:   --kernel is a bzImage (or an ELF vmlinux with a PVH note). By
          default vm.py boots the ELF vmlinux inside the bzImage (PVH entry;
          decompressed once, cached in --vmlinux-cache, default
          $EGPU_CACHE/vm, the 16 most recently used kept): under TCG this
          skips the in-guest decompression (6.1: 18.7 s -> 6.2 s wall on a
          busy host). --bzimage boots the image as is. The release (uname -r)
          is read from the image; --release overrides it.
Modules:  --modroot DIR holds lib/modules/REL/ or usr/lib/modules/REL/ (an
          extracted Debian package tree; modules.dep is used when present,
          else dependencies are read from each module's modinfo). Every
          module named in --modules plus its dependencies, and the
          dependencies of every --ko, is copied to /lib/modules/REL/ in the
          guest; compressed modules (.ko.xz, .ko.zst, .ko.gz) are
          decompressed on the host (busybox 1.35 reads .ko.xz, not .ko.zst),
          then the host's depmod writes modules.dep/alias for the guest, so
          `modprobe NAME` works. --ko files go to /lib/modules/REL/extra/
          (also reachable as /lib/modules/extra/NAME.ko for insmod).
Binaries: --bin FILE is copied to /usr/bin/ with the shared libraries ldd
          lists (and the dynamic loader) at their host paths.
          --bin and unsigned --ko files lose their debug info on the way
          (strip --strip-debug: a smaller initramfs unpacks faster under
          TCG; egpuctl 6.3 MB -> 0.3 MB); --no-strip keeps it.
Files:    --file SRC:DST copies a host file (or directory) to DST in the guest.
Scripts:  each --script runs in order under busybox sh, cwd /tmp, stdin
          /dev/null, stdout+stderr on the test channel; it prints TAP lines
          (`ok`/`not ok` [N] [- desc] [# SKIP/TODO ...], `# diag`, optional
          `1..N`; numbering may be local). Helpers: `. /usr/lib/vm/lib.sh`
          (see tests/vm/guest/lib.sh: vm_pass, vm_fail, vm_check, vm_wait,
          vm_qmp, vm_device_add, ...). /etc/passwd has root and nobody
          (65534). Environment: VM_NAME, VM_CHAN, VM_SCRIPT, VM_KREL.
          SCRIPT in the results is the file name without .sh.

Guest channels (kernel printk can never corrupt a TAP line):
  ttyS0 = kernel console -> --console file (default OUT.tap minus .tap + .console.log)
  ttyS1 = test channel   -> runner (Unix socket), raw copy in --guest-log.
          Lines starting with "@@" are protocol:
            guest -> host  @@BEGIN name | @@END name rc | @@TAINT n | @@DONE
                           @@QMP id {json QMP command}
                           @@QMP-EVENT id {"event": NAME, "device": ID, "timeout": S}
            host -> guest  @@QMP-REPLY id {json QMP answer, or the event}
          A @@QMP request is sent to QEMU's QMP socket as is (the runner
          did qmp_capabilities); the answer (the "return" or "error" object)
          is written back on ttyS1, where vm_qmp reads it. This is how a
          guest hot-plugs devices (device_add/device_del onto rp1..rp4) at
          the exact point it wants. @@QMP-EVENT waits (bounded) for the
          first not yet consumed QMP event NAME (optionally with
          data.device == ID), e.g. DEVICE_DELETED after a device_del.
          A script line starting with "@@" is taken as protocol: do not
          print such lines otherwise.

Machine: qemu-system-x86_64 -accel tcg -machine q35 -m 1G -nographic
  -no-reboot, -device intel-iommu,intremap=on (first device), pcie-root-ports
  rp1..rp4 (chassis 1..4, slot 1..4), QMP on a Unix socket; kernel cmdline
  "console=ttyS0 panic=-1 intel_iommu=on no_timer_check" + --append
  (no_timer_check: under TCG on a loaded host the timer interrupt can miss
  the kernel's IO-APIC timer check, which then panics at boot with
  "timer doesn't work through Interrupt-remapped IO-APIC"; KVM guests skip
  that check the same way).

Result (--tap): one TAP file, plan 1..N, every line renumbered and named
  "PREFIX: SCRIPT: desc" (PREFIX = --name, default the kernel release), plus
  - "not ok - PREFIX: SCRIPT (timeout after N s)" when the host timeout
    (default 120 s) expires (QEMU is killed),
  - "not ok" for a script that exits non-zero without reporting a failure,
    dies from a signal, reports nothing, or misses its own plan,
  - "not ok - PREFIX: SCRIPT (guest stopped before poweroff, ...)" (SCRIPT
    "boot" before the first script) when QEMU exits early, e.g. on a panic,
    and "not ok - PREFIX: SCRIPT (did not run)" for the scripts after it,
  - always "ok/not ok - PREFIX: no kernel error reports" from scanning the
    console (BUG:, Oops, WARNING:, KASAN:, UBSAN:, lockdep, kmemleak,
    general protection fault, Kernel panic, hung tasks, taint other than
    the --allow-taint letters, default "OE": out-of-tree and unsigned;
    both the console's taint messages and /proc/sys/kernel/tainted at the
    end are checked); offending console lines follow as "# " diagnostics.
  Header comments give the timings: QEMU wall time, when /init started
  (host and guest clock), when the guest powered off, each script.
Exit status: 0 all ok, 1 some test failed, 2 usage or setup error (the TAP
  file then holds one "not ok" line saying why, when --tap is given).
"""

import argparse
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST_LIB = os.path.join(HERE, "guest", "lib.sh")
CHAN_DEV = "/dev/ttyS1"
ROOT_PORTS = 4
VMLINUX_KEEP = 16


class SetupError(Exception):
    pass


class Terminated(Exception):
    """SIGTERM/SIGHUP: stop QEMU, still write the TAP file."""


def _on_signal(signum, _frame):
    raise Terminated(signal.Signals(signum).name)


def log(args, msg):
    if args.verbose:
        print(f"vm.py: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# cpio newc writer (stdlib only; owner root, no host privileges needed)
# --------------------------------------------------------------------------
class Cpio:
    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1000
        self.seen = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.lstrip("/")
        if name in self.seen:
            return
        self.seen.add(name)
        self.ino += 1
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(
            f"{v:08x}" for v in (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0,
                                  rdev[0], rdev[1], len(nb), 0))
        self.buf.write(hdr.encode() + nb)
        self.buf.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * ((4 - len(data) % 4) % 4))

    def dirs(self, path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self._entry("/".join(parts[:i]), stat.S_IFDIR | 0o755)

    def mkdir(self, path, mode=0o755):
        self.dirs(path)
        self._entry(path, stat.S_IFDIR | mode)

    def file(self, path, data, mode=0o644):
        self.dirs(path)
        self._entry(path, stat.S_IFREG | mode, data)

    def symlink(self, path, target):
        self.dirs(path)
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path, major, minor, mode=0o600):
        self.dirs(path)
        self._entry(path, stat.S_IFCHR | mode, rdev=(major, minor))

    def tree(self, src, dst):
        """Copy a host file or directory tree to dst (symlinks kept)."""
        if os.path.isdir(src) and not os.path.islink(src):
            self.mkdir(dst)
            for e in sorted(os.listdir(src)):
                self.tree(os.path.join(src, e), dst.rstrip("/") + "/" + e)
        elif os.path.islink(src):
            self.symlink(dst, os.readlink(src))
        else:
            with open(src, "rb") as f:
                self.file(dst, f.read(), os.stat(src).st_mode & 0o7777)

    def finish(self, out):
        self._entry("TRAILER!!!", 0)
        with open(out, "wb") as f:
            f.write(gzip.compress(self.buf.getvalue(), compresslevel=1))


# --------------------------------------------------------------------------
# kernel image and modules
# --------------------------------------------------------------------------
def kernel_release(image):
    with open(image, "rb") as f:
        head = f.read(0x10000)
    if head[0x202:0x206] == b"HdrS":
        off = struct.unpack("<H", head[0x20E:0x210])[0] + 0x200
        return head[off:off + 256].split(b" ", 1)[0].decode()
    with open(image, "rb") as f:
        data = f.read()
    m = re.search(rb"Linux version (\S+) \(", data)
    if m:
        return m.group(1).decode()
    raise SetupError(f"cannot read the kernel release from {image} (give --release)")


def elf_has_pvh_note(path):
    """True if the ELF file has a Xen PHYS32_ENTRY note (QEMU's PVH boot)."""
    with open(path, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2:
            return False
        phoff, = struct.unpack("<Q", eh[0x20:0x28])
        phentsize, phnum = struct.unpack("<HH", eh[0x36:0x3A])
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
        for i in range(phnum):
            ph = phdrs[i * phentsize:(i + 1) * phentsize]
            ptype, = struct.unpack("<I", ph[:4])
            if ptype != 4:  # PT_NOTE
                continue
            off, = struct.unpack("<Q", ph[8:16])
            size, = struct.unpack("<Q", ph[32:40])
            f.seek(off)
            notes = f.read(size)
            pos = 0
            while pos + 12 <= len(notes):
                nsz, dsz, ntype = struct.unpack("<III", notes[pos:pos + 12])
                name = notes[pos + 12:pos + 12 + nsz].rstrip(b"\0")
                if name == b"Xen" and ntype == 18:
                    return True
                pos += 12 + ((nsz + 3) & ~3) + ((dsz + 3) & ~3)
    return False


def extract_vmlinux(image, cache_dir, args):
    """Boot the uncompressed ELF inside a bzImage (PVH entry): under TCG this
    skips the in-guest decompression (6.1: about 10 s less on a busy host).
    The ELF is cached by the image's sha256. Returns the path to boot."""
    with open(image, "rb") as f:
        b = f.read()
    if b[0x202:0x206] != b"HdrS" or struct.unpack("<H", b[0x206:0x208])[0] < 0x208:
        return image  # not a bzImage (maybe already an ELF)
    digest = hashlib.sha256(b).hexdigest()[:20]
    out = os.path.join(cache_dir, f"vmlinux-{digest}")
    if os.path.exists(out):
        os.utime(out)  # most recently used
        return out
    setup_sects = b[0x1F1] or 4
    poff, plen = struct.unpack("<II", b[0x248:0x250])
    start = (setup_sects + 1) * 512 + poff
    # The last 4 bytes hold the uncompressed size: appended by the build for
    # xz and zstd, gzip's own ISIZE trailer (so part of its stream) for gzip.
    payload = b[start:start + plen - 4]
    size, = struct.unpack("<I", b[start + plen - 4:start + plen])
    try:
        if payload[:2] == b"\x1f\x8b":
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(b[start:start + plen])
        elif payload[:6] == b"\xfd7zXZ\x00":
            data = lzma.LZMADecompressor().decompress(payload)
        elif payload[:4] == b"\x28\xb5\x2f\xfd" and shutil.which("zstd"):
            data = subprocess.run(["zstd", "-dc"], input=payload, check=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
        else:
            log(args, f"{image}: unknown payload compression, booting it as is")
            return image
    except (lzma.LZMAError, zlib.error, EOFError, subprocess.CalledProcessError, OSError) as e:
        log(args, f"{image}: cannot decompress ({e}), booting it as is")
        return image
    if len(data) != size or data[:4] != b"\x7fELF":
        return image
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    if not elf_has_pvh_note(tmp):
        os.unlink(tmp)
        log(args, f"{image}: no PVH note (CONFIG_PVH off), booting the bzImage")
        return image
    os.replace(tmp, out)
    # keep the cache bounded: the newest VMLINUX_KEEP images stay
    old = sorted((os.path.join(cache_dir, f) for f in os.listdir(cache_dir)
                  if f.startswith("vmlinux-") and not f.endswith(".tmp")),
                 key=lambda f: os.stat(f).st_mtime, reverse=True)
    for f in old[VMLINUX_KEEP:]:
        try:
            os.unlink(f)
        except OSError:
            pass
    return out


def decompress_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        if not shutil.which("zstd"):
            raise SetupError(f"{path}: zstd is needed to decompress it (package zstd)")
        return subprocess.run(["zstd", "-dc", path], check=True,
                              stdout=subprocess.PIPE).stdout
    return data


def modname(path_or_name):
    b = os.path.basename(path_or_name)
    b = re.sub(r"\.ko(\.(xz|zst|gz))?$", "", b)
    return b.replace("-", "_")


def modinfo_depends(data):
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    if not m or not m.group(1):
        return []
    return [d.decode() for d in m.group(1).split(b",") if d]


class ModTree:
    def __init__(self, modroot, release):
        self.rel = release
        self.base = None
        for sub in ("lib/modules", "usr/lib/modules", ""):
            cand = os.path.join(modroot, sub, release) if sub else modroot
            if os.path.isdir(os.path.join(cand, "kernel")):
                self.base = cand
                break
        if not self.base:
            have = []
            for sub in ("lib/modules", "usr/lib/modules"):
                d = os.path.join(modroot, sub)
                if os.path.isdir(d):
                    have += os.listdir(d)
            raise SetupError(f"no modules for {release} under {modroot} "
                             f"(found: {', '.join(have) or 'none'})")
        self.paths = {}   # name -> path relative to base
        self.deps = {}    # name -> [names]
        dep = os.path.join(self.base, "modules.dep")
        if os.path.exists(dep):
            with open(dep) as f:
                for line in f:
                    if ":" not in line:
                        continue
                    mod, rest = line.split(":", 1)
                    n = modname(mod)
                    self.paths[n] = mod.strip()
                    self.deps[n] = [modname(d) for d in rest.split()]
        else:
            for root, _, files in os.walk(os.path.join(self.base, "kernel")):
                for fn in files:
                    if re.search(r"\.ko(\.(xz|zst|gz))?$", fn):
                        full = os.path.join(root, fn)
                        self.paths[modname(fn)] = os.path.relpath(full, self.base)
        self.builtin = set()
        bi = os.path.join(self.base, "modules.builtin")
        if os.path.exists(bi):
            with open(bi) as f:
                self.builtin = {modname(x.strip()) for x in f if x.strip()}

    def depends(self, name):
        if name in self.deps:
            return self.deps[name]
        data = decompress_module(os.path.join(self.base, self.paths[name]))
        self.deps[name] = [modname(d) for d in modinfo_depends(data)]
        return self.deps[name]

    def closure(self, names):
        out, todo = [], list(names)
        while todo:
            n = modname(todo.pop())
            if n in out or n in self.builtin:
                continue
            if n not in self.paths:
                raise SetupError(f"module {n} not found in {self.base}")
            out.append(n)
            todo += self.depends(n)
        return out


MODSIG = b"~Module signature appended~\n"


def strip_debug(data, work, args):
    """Drop debug info (strip --strip-debug; symbols stay) to keep the
    initramfs small: the guest unpacks it under TCG. Signed modules are
    left alone (stripping would drop the signature)."""
    if args.no_strip or data.endswith(MODSIG) or data[:4] != b"\x7fELF":
        return data
    strip = shutil.which("strip")
    if not strip:
        return data
    src, dst = os.path.join(work, "strip.in"), os.path.join(work, "strip.out")
    with open(src, "wb") as f:
        f.write(data)
    r = subprocess.run([strip, "--strip-debug", "-o", dst, src],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        return data
    with open(dst, "rb") as f:
        out = f.read()
    os.unlink(src)
    os.unlink(dst)
    return out


def ldd_libs(path):
    try:
        r = subprocess.run(["ldd", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
    except FileNotFoundError:
        raise SetupError("ldd not found (package libc-bin)")
    libs = []
    if "not a dynamic executable" in r.stdout or "statically linked" in r.stdout:
        return libs
    for line in r.stdout.splitlines():
        line = line.strip()
        if "=> not found" in line:
            raise SetupError(f"{path}: shared library missing: {line}")
        m = re.match(r"\S+ => (/\S+)", line) or re.match(r"(/\S+) \(", line)
        if m:
            libs.append(m.group(1))
    return libs


INIT = r"""#!/bin/sh
# /init generated by tests/vm/vm.py
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
chmod 1777 /tmp
mkdir -p /etc /root
cat >/etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
EOF
cat >/etc/group <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo /bin/sh >/etc/shells
hostname egpu-vm
ip link set lo up 2>/dev/null
[ -d /lib/modules/$(uname -r)/extra ] && ln -sfn $(uname -r)/extra /lib/modules/extra
export VM_CHAN=@CHAN@ VM_NAME='@NAME@' VM_KREL=$(uname -r)
stty -F $VM_CHAN raw -echo 2>/dev/null
exec 9<>$VM_CHAN
echo "@@BOOTED $(cut -d' ' -f1 /proc/uptime)" >&9
for s in @SCRIPTS@; do
	echo "<5>vm: begin $s" >/dev/kmsg
	echo "@@BEGIN $s" >&9
	( cd /tmp && VM_SCRIPT=$s exec /bin/sh /usr/lib/vm/tests/$s ) </dev/null >&9 2>&1 9>&-
	rc=$?
	echo "@@END $s $rc" >&9
	echo "<5>vm: end $s rc=$rc" >/dev/kmsg
done
echo "@@TAINT $(cat /proc/sys/kernel/tainted)" >&9
echo "@@DONE $(cut -d' ' -f1 /proc/uptime)" >&9
sync
poweroff -f
"""


def build_initramfs(args, work, release):
    c = Cpio()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "lib", "etc", "proc", "sys",
              "dev", "tmp", "run", "root", "mnt", "var", "usr/lib/vm/tests"):
        c.mkdir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    bb = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(bb):
        raise SetupError("busybox not found (package busybox-static)")
    if "not a dynamic" not in subprocess.run(["ldd", bb], stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True).stdout:
        raise SetupError(f"{bb} is not static (install busybox-static)")
    with open(bb, "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    applets = subprocess.run([bb, "--list-full"], stdout=subprocess.PIPE,
                             text=True, check=True).stdout.split()
    for a in applets:
        if a != "bin/busybox":
            c.symlink(a, "/bin/busybox")
    c.symlink("bin/sh", "busybox")

    # scripts
    names = []
    for i, s in enumerate(args.script):
        if not os.path.isfile(s):
            raise SetupError(f"guest script {s} not found")
        base = os.path.basename(s)
        n = base if base not in names else f"{i}-{base}"
        names.append(n)
        with open(s, "rb") as f:
            c.file(f"usr/lib/vm/tests/{n}", f.read(), 0o755)
    with open(GUEST_LIB, "rb") as f:
        c.file("usr/lib/vm/lib.sh", f.read(), 0o644)
    init = (INIT.replace("@CHAN@", CHAN_DEV)
            .replace("@NAME@", args.name.replace("'", ""))
            .replace("@SCRIPTS@", " ".join(names)))
    c.file("init", init.encode(), 0o755)

    # modules
    mdir = f"lib/modules/{release}"
    want = args.modules.split() if args.modules else []
    kos = []
    for ko in args.ko:
        if not os.path.isfile(ko):
            raise SetupError(f"--ko {ko} not found")
        data = decompress_module(ko)
        kos.append((ko, data))
        want += modinfo_depends(data)
    provided = {modname(ko) for ko, _ in kos}
    want = [w for w in want if modname(w) not in provided]
    staged = None
    if args.modroot or want or kos:
        staged = os.path.join(work, "modstage")
        sbase = os.path.join(staged, mdir)
        os.makedirs(sbase)
        if want and not args.modroot:
            raise SetupError(f"modules {' '.join(want)} requested but no --modroot given")
        if args.modroot:
            tree = ModTree(args.modroot, release)
            for fn in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
                p = os.path.join(tree.base, fn)
                if os.path.exists(p):
                    shutil.copy(p, os.path.join(sbase, fn))
            for n in tree.closure(want):
                rel = re.sub(r"\.(xz|zst|gz)$", "", tree.paths[n])
                dst = os.path.join(sbase, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with open(dst, "wb") as f:
                    f.write(decompress_module(os.path.join(tree.base, tree.paths[n])))
                log(args, f"module {n} -> {rel}")
        for ko, data in kos:
            dst = os.path.join(sbase, "extra", modname(ko) + ".ko")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(strip_debug(data, work, args))
        depmod = shutil.which("depmod") or "/sbin/depmod"
        if not os.path.exists(depmod):
            raise SetupError("depmod not found (package kmod)")
        r = subprocess.run([depmod, "-b", staged, release], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SetupError(f"depmod failed: {r.stdout.strip()}")
        c.tree(os.path.join(staged, "lib"), "lib")

    # binaries and their libraries
    for b in args.bin:
        if not os.path.isfile(b):
            raise SetupError(f"--bin {b} not found")
        with open(b, "rb") as f:
            c.file("usr/bin/" + os.path.basename(b), strip_debug(f.read(), work, args), 0o755)
        for lib in ldd_libs(b):
            real = os.path.realpath(lib)
            with open(real, "rb") as f:
                c.file(lib, f.read(), 0o755)
    for spec in args.file:
        if ":" not in spec:
            raise SetupError(f"--file {spec}: expected SRC:DST")
        src, dst = spec.split(":", 1)
        if not os.path.exists(src):
            raise SetupError(f"--file {src} not found")
        c.tree(src, dst)
    out = os.path.join(work, "initramfs.cpio.gz")
    c.finish(out)
    return out, names


# --------------------------------------------------------------------------
# QMP
# --------------------------------------------------------------------------
class Qmp:
    def __init__(self, path, deadline):
        self.sock = None
        self.buf = b""
        self.events = []
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                self.sock = s
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise SetupError(f"QMP socket {path} did not come up")
                time.sleep(0.05)
        self._read(deadline)  # greeting
        r = self.command({"execute": "qmp_capabilities"}, 10)
        if "return" not in r:
            raise SetupError(f"qmp_capabilities failed: {r}")

    def _read(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("QMP answer timed out")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                d = self.sock.recv(65536)
                if not d:
                    raise EOFError("QMP socket closed")
                self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, cmd, timeout):
        deadline = time.monotonic() + timeout
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            m = self._read(deadline)
            if "event" in m:
                self.events.append(m)
                continue
            return m


# --------------------------------------------------------------------------
# TAP assembly
# --------------------------------------------------------------------------
RESULT = re.compile(r"^(not ok|ok)\b(?:\s+(\d+))?(?:\s*-)?\s*(.*)$")
PLAN = re.compile(r"^1\.\.(\d+)")
DIRECTIVE = re.compile(r"(?<!\\)#\s*((?:SKIP|TODO)\b.*)$", re.IGNORECASE)

ERROR_PATTERNS = [
    r"BUG:", r"\bOops\b", r"WARNING:", r"KASAN:", r"UBSAN:",
    r"possible circular locking", r"possible recursive locking",
    r"inconsistent lock state", r"turning off the locking correctness validator",
    r"INFO: trying to register non-static key", r"unreferenced object",
    r"suspected memory leak", r"general protection fault", r"Kernel panic",
    r"INFO: task .* blocked", r"rcu: INFO: .*stall", r"\bcut here\b",
    r"Call Trace:", r"[Tt]aint",
]
TAINT_LETTERS = "PFSRMBUDAWCIOEKLXTN"  # bit order as in kernel/panic.c
TAINT_BITS = {"P": 0, "F": 1, "S": 2, "R": 3, "M": 4, "B": 5, "U": 6, "D": 7,
              "A": 8, "W": 9, "C": 10, "I": 11, "O": 12, "E": 13, "L": 14,
              "K": 15, "X": 16, "T": 17, "N": 18}
ALLOWED_TAINT_MSG = {
    "O": r"loading out-of-tree module taints kernel",
    "E": r"module verification failed: signature and/or required key missing - tainting kernel",
    "N": r"loading test module taints kernel",
}


def scan_console(path, allow, taint):
    """Return (list of offending console lines, list of extra reasons)."""
    pat = re.compile("|".join(ERROR_PATTERNS))
    allowed = [re.compile(ALLOWED_TAINT_MSG[c]) for c in allow if c in ALLOWED_TAINT_MSG]
    bad = []
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip("\r\n") for l in f]
    except OSError:
        return [], [f"console log {path} missing"]
    context = 0
    for line in lines:
        clean = line.replace("\r", "")
        if pat.search(clean) and not any(a.search(clean) for a in allowed):
            bad.append(clean)
            context = 12 if len(bad) < 3 else 0
        elif context > 0:
            bad.append("  " + clean)
            context -= 1
    reasons = []
    if taint is not None:
        mask = 0
        for c in allow:
            mask |= 1 << TAINT_BITS.get(c, 31)
        extra = taint & ~mask
        if extra:
            letters = "".join(l for l, b in TAINT_BITS.items() if extra & (1 << b))
            reasons.append(f"kernel taint {taint} has flags {letters} beyond allowed '{allow}'")
    return bad[:80], reasons


class Collector:
    """Parses the test channel into per-script results."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.out = []          # (verdict, desc, directive, diags)
        self.cur = None        # current script state
        self.ended = []
        self.booted = None
        self.done = False
        self.taint = None
        self.times = {}
        self.marks = {}        # first host time of each @@ tag
        self.waiters = []      # pending @@QMP-EVENT requests

    def add(self, ok, desc, directive="", diags=()):
        self.out.append((ok, desc, directive, list(diags)))

    def begin(self, name, now):
        self.cur = {"name": name, "results": 0, "fails": 0, "plans": [],
                    "t0": now, "bail": False}

    def end(self, rc, now):
        s = self.cur
        if not s:
            return
        short = re.sub(r"\.sh$", "", s["name"])
        self.times[short] = now - s["t0"]
        label = f"{self.prefix}: {short}"
        if rc >= 128:
            self.add(False, f"{label} (killed by signal {rc - 128})")
        elif rc != 0 and s["fails"] == 0:
            self.add(False, f"{label} (exit status {rc} without a failed test)")
        if s["results"] == 0 and rc == 0:
            self.add(False, f"{label} (no test results)")
        if len(s["plans"]) == 1 and s["plans"][0] != s["results"] and not s["bail"]:
            self.add(False, f"{label} (planned {s['plans'][0]} tests, ran {s['results']})")
        self.ended.append(s["name"])
        self.cur = None

    def line(self, raw):
        if self.cur is None:
            if raw.strip():
                self.add_diag(raw)
            return
        short = re.sub(r"\.sh$", "", self.cur["name"])
        if raw.startswith("#"):
            self.add_diag(raw)
            return
        if raw.startswith("Bail out!"):
            self.cur["bail"] = True
            self.cur["fails"] += 1
            self.add(False, f"{self.prefix}: {short}: {raw}")
            return
        m = PLAN.match(raw)
        if m:
            self.cur["plans"].append(int(m.group(1)))
            return
        m = RESULT.match(raw)
        if not m:
            return  # other output stays in the guest log only
        verdict, num, rest = m.groups()
        desc, directive = rest.strip(), ""
        d = DIRECTIVE.search(rest)
        if d:
            desc, directive = rest[:d.start()].strip(), d.group(1).strip()
        if not desc:
            desc = f"test {num or self.cur['results'] + 1}"
        ok = verdict == "ok"
        self.cur["results"] += 1
        if not ok and not directive.upper().startswith("TODO"):
            self.cur["fails"] += 1
        self.add(ok, f"{self.prefix}: {short}: {desc}", directive)

    def add_diag(self, raw):
        d = raw if raw.startswith("#") else "# " + raw
        if self.out:
            self.out[-1][3].append(d)
        else:
            self.pre = getattr(self, "pre", []) + [d]


def write_tap(path, col, header):
    lines = ["TAP version 13"]
    lines += [f"1..{len(col.out)}"]
    lines += ["# " + h for h in header]
    lines += getattr(col, "pre", [])
    failed = 0
    for i, (ok, desc, directive, diags) in enumerate(col.out, 1):
        desc = re.sub(r"(?<!\\)#", r"\\#", desc)
        line = f"{'ok' if ok else 'not ok'} {i} - {desc}"
        if directive:
            line += f" # {directive}"
        if not ok and not directive.upper().startswith("TODO"):
            failed += 1  # as tests/summarize counts
        lines.append(line)
        lines += [d if d.startswith("#") else "# " + d for d in diags]
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    return failed


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------
def qemu_command(args, kernel, initrd, console, chan_sock, qmp_sock):
    append = f"console=ttyS0 panic=-1 intel_iommu=on no_timer_check {args.append}".strip()
    cmd = [args.qemu, "-accel", "tcg", "-machine", "q35", "-m", args.mem,
           "-smp", str(args.smp), "-nographic", "-no-reboot", "-monitor", "none",
           "-nodefaults", "-vga", "none",
           "-device", "intel-iommu,intremap=on"]
    for i in range(1, ROOT_PORTS + 1):
        cmd += ["-device", f"pcie-root-port,id=rp{i},bus=pcie.0,chassis={i},slot={i},"
                f"addr={i + 1}.0"]
    def esc(p):
        return p.replace(",", ",,")
    cmd += ["-chardev", f"file,id=con,path={esc(console)}",
            "-serial", "chardev:con",
            "-chardev", f"socket,id=chan,path={esc(chan_sock)}",
            "-serial", "chardev:chan",
            "-qmp", f"unix:{esc(qmp_sock)},server=on,wait=off",
            "-kernel", kernel, "-initrd", initrd, "-append", append]
    if args.pciehp:
        cmd += ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
    cmd += args.qemu_arg
    return cmd


def run(args):
    t_start = time.monotonic()
    work = tempfile.mkdtemp(prefix="egpu-vm-")
    col = Collector(args.name or "vm")
    header = []
    proc = None
    try:
        if not os.path.isfile(args.kernel):
            raise SetupError(f"kernel image {args.kernel} not found")
        release = args.release or kernel_release(args.kernel)
        if not args.name:
            args.name = release
        col.prefix = args.name
        kernel = args.kernel
        if not args.bzimage:
            cache = args.vmlinux_cache or os.path.join(
                os.environ.get("EGPU_CACHE", "/var/cache/egpu-gate"), "vm")
            try:
                os.makedirs(cache, exist_ok=True)
                if not os.access(cache, os.W_OK):
                    raise OSError("not writable")
            except OSError:
                cache = work
            kernel = extract_vmlinux(args.kernel, cache, args)
        initrd, names = build_initramfs(args, work, release)
        t_built = time.monotonic()
        header.append(f"kernel {args.kernel} release {release}"
                      + (f" (booted as ELF {kernel})" if kernel != args.kernel else ""))
        chan_path = os.path.join(work, "chan.sock")
        qmp_path = os.path.join(work, "qmp.sock")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(chan_path)
        lsock.listen(1)
        cmd = qemu_command(args, kernel, initrd, args.console, chan_path, qmp_path)
        log(args, " ".join(cmd))
        qerr = open(os.path.join(work, "qemu.stderr"), "w+")
        t_qemu = time.monotonic()
        deadline = t_qemu + args.timeout
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qerr,
                                stderr=subprocess.STDOUT, start_new_session=True)
        glog = open(args.guest_log, "wb")
        timed_out = False
        terminated = None
        try:
            pump(proc, lsock, qmp_path, deadline, glog, col, args)
        except TimeoutError:
            timed_out = True
        except Terminated as e:
            terminated = str(e)
        if terminated:
            where = col.cur["name"] if col.cur else ("poweroff" if col.done else "boot")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            col.add(False, f"{col.prefix}: {re.sub(r'.sh$', '', where)} "
                    f"(vm.py stopped by {terminated})")
        elif timed_out:
            where = col.cur["name"] if col.cur else ("poweroff" if col.done else "boot")
            where = re.sub(r"\.sh$", "", where)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            col.add(False, f"{col.prefix}: {where} (timeout after {args.timeout:g} s)")
        else:
            try:
                proc.wait(max(1, min(15, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            if not col.done:
                where = col.cur["name"] if col.cur else "boot"
                qerr.seek(0)
                diag = ["# qemu: " + l for l in qerr.read().splitlines()[-10:]]
                col.add(False, f"{col.prefix}: {re.sub(r'.sh$', '', where)} "
                        f"(guest stopped before poweroff, QEMU exit status {proc.returncode})",
                        diags=diag)
            elif proc.returncode != 0:
                col.add(False, f"{col.prefix}: poweroff (QEMU exit status {proc.returncode})")
        missing = [n for n in names if n not in col.ended and (not col.cur or col.cur["name"] != n)]
        if col.booted is not None and not timed_out and not terminated:
            for n in missing:
                col.add(False, f"{col.prefix}: {re.sub(r'.sh$', '', n)} (did not run)")
        bad, reasons = scan_console(args.console, args.allow_taint, col.taint)
        col.add(not bad and not reasons, f"{col.prefix}: no kernel error reports",
                diags=[f"# {r}" for r in reasons] + [f"# console: {b}" for b in bad])
        t_end = time.monotonic()
        boot = f"{col.booted:.2f}" if col.booted is not None else "?"
        rel = {k: f"{v - t_qemu:.2f}" for k, v in col.marks.items()}
        header.append(f"timing: initramfs {t_built - t_start:.2f} s; QEMU wall {t_end - t_qemu:.2f} s "
                      f"(/init at {rel.get('@@BOOTED', '?')} s = guest uptime {boot} s, "
                      f"poweroff at {rel.get('@@DONE', '?')} s); scripts "
                      + ", ".join(f"{k} {v:.2f} s" for k, v in col.times.items()))
        header.append(f"console log {args.console}, guest log {args.guest_log}")
        failed = write_tap(args.tap, col, header)
        if args.verbose or failed:
            print(f"vm.py: {args.name}: {len(col.out) - failed} ok, {failed} not ok, "
                  f"QEMU wall {t_end - t_qemu:.2f} s -> {args.tap}", file=sys.stderr)
        return 1 if failed else 0
    finally:
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if args.keep:
            print(f"vm.py: work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def pump(proc, lsock, qmp_path, deadline, glog, col, args):
    """Serve the test channel and QMP until the guest is gone; raises
    TimeoutError at the deadline."""
    chan = None
    qmp = None
    buf = b""
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError()
        if chan is None:
            r, _, _ = select.select([lsock], [], [], min(0.2, deadline - now))
            if r:
                chan, _ = lsock.accept()
            elif proc.poll() is not None:
                break
            continue
        if qmp is None:
            try:
                qmp = Qmp(qmp_path, min(deadline, time.monotonic() + 15))
            except (SetupError, OSError, EOFError, TimeoutError) as e:
                if proc.poll() is not None:
                    break
                raise SetupError(f"QMP: {e}")
        r, _, _ = select.select([chan, qmp.sock], [], [], min(0.5, deadline - now))
        if qmp.sock in r:
            d = qmp.sock.recv(65536)
            if d:
                qmp.buf += d
                while b"\n" in qmp.buf:
                    l, qmp.buf = qmp.buf.split(b"\n", 1)
                    try:
                        qmp.events.append(json.loads(l))
                    except ValueError:
                        pass
        if chan in r:
            d = chan.recv(65536)
            if not d:
                break
            glog.write(d)
            glog.flush()
            buf += d
            while b"\n" in buf:
                l, buf = buf.split(b"\n", 1)
                handle_line(l.decode(errors="replace").rstrip("\r"), col, chan,
                            qmp, args)
        if col.waiters:
            serve_waiters(col, chan, qmp)
        if proc.poll() is not None and chan not in r:
            break
    if buf:
        handle_line(buf.decode(errors="replace").rstrip("\r"), col, chan, qmp, args)


def serve_waiters(col, chan, qmp):
    """Answer @@QMP-EVENT requests: the first unconsumed QMP event of that
    name (and data.device, if asked) since the run began, else a Timeout
    error once the request's deadline passed."""
    now = time.monotonic()
    for w in list(col.waiters):
        rid, name, device, deadline = w
        hit = None
        for ev in (qmp.events if qmp else []):
            if ev.get("event") == name and (
                    device is None or ev.get("data", {}).get("device") == device):
                hit = ev
                break
        if hit is not None:
            qmp.events.remove(hit)
            ans = hit
        elif now >= deadline:
            ans = {"error": {"class": "Timeout", "desc": f"no QMP event {name}"}}
        else:
            continue
        col.waiters.remove(w)
        chan.sendall(f"@@QMP-REPLY {rid} {json.dumps(ans)}\n".encode())


def handle_line(line, col, chan, qmp, args):
    now = time.monotonic()
    if not line.startswith("@@"):
        col.line(line)
        return
    parts = line.split(" ", 2)
    tag = parts[0]
    col.marks.setdefault(tag, now)
    if tag == "@@BOOTED":
        try:
            col.booted = float(parts[1])
        except (IndexError, ValueError):
            col.booted = -1.0
    elif tag == "@@BEGIN" and len(parts) > 1:
        col.begin(parts[1], now)
    elif tag == "@@END" and len(parts) > 2:
        try:
            rc = int(parts[2])
        except ValueError:
            rc = 255
        col.end(rc, now)
    elif tag == "@@TAINT" and len(parts) > 1:
        try:
            col.taint = int(parts[1])
        except ValueError:
            pass
    elif tag == "@@DONE":
        col.done = True
    elif tag == "@@QMP-EVENT" and len(parts) > 2:
        try:
            req = json.loads(parts[2])
            col.waiters.append((parts[1], req["event"], req.get("device"),
                                now + float(req.get("timeout", 30))))
        except (ValueError, KeyError, TypeError) as e:
            chan.sendall(f"@@QMP-REPLY {parts[1]} "
                         f"{json.dumps({'error': {'class': 'HarnessError', 'desc': str(e)}})}\n"
                         .encode())
    elif tag == "@@QMP" and len(parts) > 2:
        rid = parts[1]
        try:
            cmd = json.loads(parts[2])
            t0 = time.monotonic()
            ans = qmp.command(cmd, 30)
            log(args, f"QMP {parts[2]} -> {ans} ({time.monotonic() - t0:.3f} s)")
        except (ValueError, TimeoutError, EOFError, OSError, AttributeError) as e:
            ans = {"error": {"class": "HarnessError", "desc": str(e)}}
        ans.pop("id", None)
        chan.sendall(f"@@QMP-REPLY {rid} {json.dumps(ans)}\n".encode())


def main():
    p = argparse.ArgumentParser(
        description="Boot a kernel in QEMU with a busybox initramfs, run guest "
                    "scripts, write TAP. See the top of this file.")
    p.add_argument("--kernel", required=True)
    p.add_argument("--release", help="kernel release (default: read from the image)")
    p.add_argument("--modroot")
    p.add_argument("--modules", default="", help="space-separated module names")
    p.add_argument("--ko", action="append", default=[])
    p.add_argument("--bin", action="append", default=[])
    p.add_argument("--file", action="append", default=[])
    p.add_argument("--script", action="append", default=[], required=True)
    p.add_argument("--tap", required=True)
    p.add_argument("--console")
    p.add_argument("--guest-log")
    p.add_argument("--name")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--mem", default="1G")
    p.add_argument("--smp", type=int, default=1)
    p.add_argument("--append", default="")
    p.add_argument("--allow-taint", default="OE",
                   help="taint letters that are expected (default OE)")
    p.add_argument("--bzimage", action="store_true",
                   help="boot the bzImage as is (default: its ELF vmlinux, cached)")
    p.add_argument("--vmlinux-cache",
                   help="where extracted vmlinux files are kept (default $EGPU_CACHE/vm)")
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--pciehp", action="store_true",
                   help="native PCIe hot-plug (pciehp) on the root ports instead of "
                        "ACPI hot-plug (removal then waits pciehp's 5 s button delay)")
    p.add_argument("--qemu-arg", action="append", default=[])
    p.add_argument("--no-strip", action="store_true",
                   help="copy --bin/--ko files with their debug info (default: "
                        "strip --strip-debug; signed modules are never stripped)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--verbose", "-v", action="store_true")
    args = p.parse_args()
    base = re.sub(r"\.tap$", "", args.tap)
    args.console = args.console or base + ".console.log"
    args.guest_log = args.guest_log or re.sub(r"(\.console)?\.log$", "", args.console) + ".guest.log"
    for f in (args.tap, args.console, args.guest_log):
        os.makedirs(os.path.dirname(os.path.abspath(f)), exist_ok=True)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        return run(args)
    except Terminated as e:
        print(f"vm.py: stopped by {e}", file=sys.stderr)
        return 1
    except SetupError as e:
        print(f"vm.py: error: {e}", file=sys.stderr)
        col = Collector(args.name or "vm")
        col.add(False, f"{col.prefix}: vm setup ({e})")
        write_tap(args.tap, col, [])
        return 2


if __name__ == "__main__":
    sys.exit(main())
