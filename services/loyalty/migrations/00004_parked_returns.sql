-- +goose Up
-- A return whose purchase has not been booked in a program yet waits here
-- (app.Points.ReverseReturn) and is applied when the purchase is booked:
-- events of one customer may be handled out of order by several replicas,
-- and a return's effect is never dropped. doc is the return (lines, refund,
-- times) as JSON.
CREATE TABLE parked_returns (
    program_id              TEXT NOT NULL,
    purchase_interaction_id TEXT NOT NULL,
    interaction_id          TEXT NOT NULL,
    customer_id             TEXT NOT NULL,
    doc                     TEXT NOT NULL,
    park_time               BIGINT NOT NULL,
    PRIMARY KEY (program_id, purchase_interaction_id, interaction_id)
);

-- +goose Down
DROP TABLE parked_returns;
