// CRC-32 accelerator: feed it bytes over the bus, read back the same CRC as zlib.crc32 (the
// IEEE 802.3 polynomial, reflected, initial value and final XOR 0xFFFFFFFF).
//
// Register map (byte offsets inside the design's 128-byte region; wb_adr is 5 bits):
//
//   Offset       R/W  Meaning
//   0x00         W    CTRL: write 1 to start a new CRC (COUNT back to 0). Reads 0.
//   0x08         R    CRC: the CRC-32 of every byte fed since the last start.
//   0x0C         R    COUNT: how many bytes were fed since the last start.
//   0x10         W    BYTE: feeds one byte, the written word's least significant one.
//   0x40 - 0x7C  W    DATA: each word written anywhere here feeds its four bytes, least
//                     significant first (0x34333231 feeds "1234"), so one write of up to
//                     16 words feeds 64 bytes in order. Reads 0.
//
// After reset a CRC is already started. Every access is acknowledged one cycle later; other
// offsets read 0 and ignore writes.
module user_design (
    input  wire        clk,
    input  wire        rst,
    input  wire        wb_cyc,
    input  wire        wb_stb,
    input  wire        wb_we,
    input  wire [4:0]  wb_adr,
    input  wire [31:0] wb_dat_w,
    input  wire [3:0]  wb_sel,
    output reg  [31:0] wb_dat_r,
    output reg         wb_ack
);
    localparam CTRL = 5'd0, CRC = 5'd2, COUNT = 5'd3, BYTE = 5'd4;

    reg [31:0] crc;    // the running register, before the final XOR
    reg [31:0] count;

    // One byte through the reflected CRC-32: eight shifts, each XORing the polynomial in.
    function [31:0] crc_byte(input [31:0] state, input [7:0] data);
        integer i;
        reg [31:0] c;
        begin
            c = state ^ {24'd0, data};
            for (i = 0; i < 8; i = i + 1)
                c = c[0] ? ((c >> 1) ^ 32'hEDB88320) : (c >> 1);
            crc_byte = c;
        end
    endfunction

    wire access = wb_cyc & wb_stb & ~wb_ack;
    wire [31:0] after_word = crc_byte(crc_byte(crc_byte(crc_byte(crc,
        wb_dat_w[7:0]), wb_dat_w[15:8]), wb_dat_w[23:16]), wb_dat_w[31:24]);

    always @(posedge clk) begin
        wb_ack <= 1'b0;
        if (rst) begin
            crc <= 32'hFFFFFFFF;
            count <= 32'd0;
            wb_dat_r <= 32'd0;
        end else if (access) begin
            wb_ack <= 1'b1;
            case (wb_adr)
                CRC:     wb_dat_r <= ~crc;
                COUNT:   wb_dat_r <= count;
                default: wb_dat_r <= 32'd0;
            endcase
            if (wb_we && wb_adr[4]) begin  // the DATA window
                crc <= after_word;
                count <= count + 32'd4;
            end else if (wb_we) begin
                case (wb_adr)
                    CTRL: if (wb_dat_w[0]) begin
                        crc <= 32'hFFFFFFFF;
                        count <= 32'd0;
                    end
                    BYTE: begin
                        crc <= crc_byte(crc, wb_dat_w[7:0]);
                        count <= count + 32'd1;
                    end
                    default: ;
                endcase
            end
        end
    end
endmodule
