"""What the stages share, so that no stage imports another: record types, geometry, engine names,
and the records that more than one stage builds."""
