"""The local emulation of AWS and the messaging gateway: moto server and its patches,
the event pumps, the sandbox gateway, the local stack `make run` starts, demo data.
Not deployed; infra/ holds what is."""
