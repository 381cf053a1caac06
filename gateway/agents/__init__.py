"""What agents do by mail: who is notified, who may reply, commands, collisions, reply text."""
