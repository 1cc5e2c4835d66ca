"""Running untrusted programs contained: user designs, their builds, their simulators.

Every such program runs through :class:`Sandbox`, which starts it via a small launcher
(:mod:`hwbridge.sandbox.enter`) that runs it under bubblewrap (``bwrap``,
:mod:`hwbridge.sandbox.bwrap`) with:

* resource limits per process: CPU time, address space, file size, process count, no cores
  (:class:`ResourceLimits`);
* an unprivileged user when the service is root (``nobody`` by default; no supplementary
  groups, no capabilities, no new privileges), so the process limit counts and root-only files
  such as ``/etc/shadow`` stay closed; a service that is not root runs programs as itself inside
  an unprivileged user namespace;
* a network namespace (no network at all) for builds; simulators keep the host's network, as
  the service reaches their UART over a loopback TCP port;
* a mount namespace in which the service's data directory is hidden, the file system is
  read-only and only the program's own directories are visible and writable
  (:mod:`hwbridge.sandbox.view`);
* a pid namespace, so a program sees and signals only its own processes and none of them
  outlives it;
* a seccomp filter refusing ptrace, mount, new namespaces, bpf, the keyring and module loading
  (:mod:`hwbridge.sandbox.seccomp`);
* an environment built from nothing and a private temporary directory.

Each namespace is used where the platform allows it (:mod:`hwbridge.sandbox.platform`); the
ownership and modes of the directories (:mod:`hwbridge.sandbox.files`) protect the data
directory where there is no mount namespace.
"""

from hwbridge.sandbox.files import harden_data_dir
from hwbridge.sandbox.identity import DEFAULT_USER, SandboxError, SandboxUser
from hwbridge.sandbox.limits import ResourceLimits
from hwbridge.sandbox.policy import Sandbox
from hwbridge.sandbox.runtime import clean_environment, python_command
from hwbridge.sandbox.spec import Namespaces

__all__ = [
    "DEFAULT_USER",
    "Namespaces",
    "ResourceLimits",
    "Sandbox",
    "SandboxError",
    "SandboxUser",
    "clean_environment",
    "harden_data_dir",
    "python_command",
]
