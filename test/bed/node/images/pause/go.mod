module local/bed-pause

go 1.22
