"""The build pipeline: one for every language and board kind.

A **front end** per language (:mod:`.frontends`) turns an untrusted design into one Verilog
module with the contract's ports (:mod:`.contract`), described by a :class:`.netlist.Netlist`;
a **back end** per board kind (:mod:`.backends`) builds the base SoC around it into what a board
runs. :mod:`.runner` runs both in the sandbox as child processes (:mod:`.child`), streaming their
output into the job's log; :mod:`.key` names a build by everything that shapes it,
:mod:`.artifacts` keeps builds on this host and in the shared cache, and :mod:`.kits` keeps the
parts every build of a board kind shares.
"""
