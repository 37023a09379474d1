"""Pure code shared by the edge agent and the central server. Imports nothing of ours."""
