# Liaison contacts and the hotline/meeting log arrive with the liaison issue.
