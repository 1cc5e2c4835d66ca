// Sixteen 32-bit echo registers, the Verilog twin of examples/echo_regs.py (byte lanes honoured).
module user_design (
    input  wire        clk,
    input  wire        rst,
    input  wire        wb_cyc,
    input  wire        wb_stb,
    input  wire        wb_we,
    input  wire [9:0]  wb_adr,
    input  wire [31:0] wb_dat_w,
    input  wire [3:0]  wb_sel,
    output reg  [31:0] wb_dat_r,
    output reg         wb_ack
);
    reg [31:0] regs [0:15];
    wire access = wb_cyc & wb_stb & ~wb_ack;
    integer b;
    always @(posedge clk) begin
        wb_ack <= 1'b0;
        if (rst) begin
            wb_dat_r <= 32'd0;
        end else if (access) begin
            wb_ack <= 1'b1;
            wb_dat_r <= regs[wb_adr[3:0]];
            if (wb_we)
                for (b = 0; b < 4; b = b + 1)
                    if (wb_sel[b]) regs[wb_adr[3:0]][8*b +: 8] <= wb_dat_w[8*b +: 8];
        end
    end
endmodule
