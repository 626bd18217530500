using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Gureum.Server.Infrastructure.Db.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AiApis : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ai_operations",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 26, nullable: false),
                    ProjectId = table.Column<string>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    KeyId = table.Column<string>(type: "TEXT", maxLength: 26, nullable: false),
                    InputSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    InputBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    Options = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ai_operations", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ai_operations_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "usage_events",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ProjectId = table.Column<string>(type: "TEXT", nullable: false),
                    KeyId = table.Column<string>(type: "TEXT", maxLength: 26, nullable: false),
                    Service = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Meter = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Quantity = table.Column<double>(type: "REAL", nullable: false),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    RequestId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_usage_events", x => x.Id);
                    table.ForeignKey(
                        name: "FK_usage_events_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ai_operations_ExpiresAt",
                table: "ai_operations",
                column: "ExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_ai_operations_InputSha256",
                table: "ai_operations",
                column: "InputSha256");

            migrationBuilder.CreateIndex(
                name: "IX_ai_operations_ProjectId",
                table: "ai_operations",
                column: "ProjectId");

            migrationBuilder.CreateIndex(
                name: "IX_usage_events_ProjectId_At",
                table: "usage_events",
                columns: new[] { "ProjectId", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_usage_events_ProjectId_RequestId_Service_Meter",
                table: "usage_events",
                columns: new[] { "ProjectId", "RequestId", "Service", "Meter" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ai_operations");

            migrationBuilder.DropTable(
                name: "usage_events");
        }
    }
}
