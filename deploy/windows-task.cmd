@echo off
rem Register kpibatch as a nightly Windows scheduled task (run once, in an administrator prompt).
rem Adjust C:\kpibatch to where kpibatch is installed and where kpibatch.toml lives.
schtasks /Create /F /TN "kpibatch nightly" /SC DAILY /ST 01:30 /RU SYSTEM /TR "\"C:\kpibatch\.venv\Scripts\kpibatch.exe\" run --config \"C:\kpibatch\kpibatch.toml\" --quiet"
