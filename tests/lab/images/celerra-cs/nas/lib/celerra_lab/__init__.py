"""The lab's fake EMC Celerra Control Station (see docs/celerra-cli.md).

Modules:
  store    state files under $NAS_DB/state, lab.conf, the global lock, the starting state
  model    derived views of the state (mover readiness, versions, upgrade status)
  agent    client of the data movers' agents (TCP 5081, JSON lines)
  commands the nasadmin commands
  jobs     detached background jobs (upgrades, reboots)
  faults   celerra-lab-fault
  reset    celerra-lab-reset
  cli      entry point of the thin executables in /nas/bin and /nas/sbin
"""
