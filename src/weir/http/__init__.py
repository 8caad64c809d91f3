"""The HTTP API: one Powertools route table, served by API Gateway in AWS and by the
local gateway (uvicorn) on one machine."""
