using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Gureum.Server.Infrastructure.Db.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Metering : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_usage_events_projects_ProjectId",
                table: "usage_events");

            migrationBuilder.AddColumn<string>(
                name: "KeyId",
                table: "training_jobs",
                type: "text",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "quotas",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ProjectId = table.Column<string>(type: "character varying(26)", nullable: false),
                    KeyId = table.Column<string>(type: "character varying(26)", maxLength: 26, nullable: true),
                    Service = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    Meter = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Limit = table.Column<double>(type: "double precision", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_quotas", x => x.Id);
                    table.ForeignKey(
                        name: "FK_quotas_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "rate_limits",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ProjectId = table.Column<string>(type: "character varying(26)", nullable: false),
                    KeyId = table.Column<string>(type: "character varying(26)", maxLength: 26, nullable: true),
                    Service = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    RequestsPerSecond = table.Column<double>(type: "double precision", nullable: false),
                    Burst = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_rate_limits", x => x.Id);
                    table.ForeignKey(
                        name: "FK_rate_limits_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "server_settings",
                columns: table => new
                {
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Json = table.Column<string>(type: "text", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_server_settings", x => x.Name);
                });

            migrationBuilder.CreateTable(
                name: "usage_aggregates",
                columns: table => new
                {
                    ProjectId = table.Column<string>(type: "character varying(26)", maxLength: 26, nullable: false),
                    KeyId = table.Column<string>(type: "character varying(26)", maxLength: 26, nullable: false),
                    Service = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    Meter = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Granularity = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    PeriodStart = table.Column<long>(type: "bigint", nullable: false),
                    Quantity = table.Column<double>(type: "double precision", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_usage_aggregates", x => new { x.ProjectId, x.Granularity, x.PeriodStart, x.KeyId, x.Service, x.Meter });
                });

            migrationBuilder.CreateIndex(
                name: "IX_quotas_ProjectId",
                table: "quotas",
                column: "ProjectId");

            migrationBuilder.CreateIndex(
                name: "IX_rate_limits_ProjectId",
                table: "rate_limits",
                column: "ProjectId");

            migrationBuilder.CreateIndex(
                name: "IX_usage_aggregates_Granularity_PeriodStart",
                table: "usage_aggregates",
                columns: new[] { "Granularity", "PeriodStart" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "quotas");

            migrationBuilder.DropTable(
                name: "rate_limits");

            migrationBuilder.DropTable(
                name: "server_settings");

            migrationBuilder.DropTable(
                name: "usage_aggregates");

            migrationBuilder.DropColumn(
                name: "KeyId",
                table: "training_jobs");

            migrationBuilder.AddForeignKey(
                name: "FK_usage_events_projects_ProjectId",
                table: "usage_events",
                column: "ProjectId",
                principalTable: "projects",
                principalColumn: "Id",
                onDelete: ReferentialAction.Cascade);
        }
    }
}
