"""The ssh demo host: `monotui serve-demo --ssh PORT`, one fresh demo world per connection.

asyncssh is imported only by `ssh_server`, `ssh_session` and `hostkey`, so the CLI can list this
command without paying for it.
"""
