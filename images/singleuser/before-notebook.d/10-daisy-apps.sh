#!/bin/bash
# Sourced by the Docker Stacks start script before the server starts (as the
# user): the home volume hides the image's home, so link the apps shipped in
# the image into it once.
if [ -d "${DAISY_APPS_DIR:-/opt/daisy/apps}" ] && [ ! -e "${HOME}/daisy-apps" ]; then
    ln -s "${DAISY_APPS_DIR:-/opt/daisy/apps}" "${HOME}/daisy-apps" || true
fi
