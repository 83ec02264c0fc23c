-- One database and one role per service (infra/compose.yaml); no service can read another's tables.
CREATE ROLE enterprises LOGIN PASSWORD 'enterprises-change-me';
CREATE ROLE complaints LOGIN PASSWORD 'complaints-change-me';
CREATE ROLE inspections LOGIN PASSWORD 'inspections-change-me';
CREATE ROLE scoring LOGIN PASSWORD 'scoring-change-me';
CREATE DATABASE enterprises OWNER enterprises;
CREATE DATABASE complaints OWNER complaints;
CREATE DATABASE inspections OWNER inspections;
CREATE DATABASE scoring OWNER scoring;
REVOKE CONNECT ON DATABASE enterprises, complaints, inspections, scoring FROM PUBLIC;
