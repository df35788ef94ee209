-- wrk script: POST the credential in $VERIFY_BODY to /credentials/verify.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("VERIFY_BODY"), "r")
wrk.body = f:read("*a")
f:close()
