-- table.pack counts nils, table.unpack takes a range, table.move copies.
print(select('#', table.unpack({1, nil, 3}, 1, 5)))  -- expect: 5
do local p = table.pack(1, nil, 3) print(p.n .. ',' .. tostring(p[2]) .. ',' .. p[3]) end
-- expect: 3,nil,3
do local a = table.move({1, 2, 3}, 1, 3, 2) print(table.concat(a, ',')) end  -- expect: 1,1,2,3
