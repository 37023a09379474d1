"""The gateway agent: config, buses, poller, buffer, uploader, agent, cli. Imports only protocols."""
