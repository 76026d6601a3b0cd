"""Producer SDK embedded in elf apps."""
